/** Loads GitHub's dereferenced OpenAPI description once and matches requests to operations. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Record<string, unknown>;
  "x-multi-segment"?: boolean;
}

export interface OpenApiOperation {
  operationId: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
  externalDocs?: { url?: string };
}

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  paramNames: string[];
  literalCount: number;
  multiCount: number;
  operation: OpenApiOperation;
}

export interface OperationMatch {
  template: string;
  operation: OpenApiOperation;
  params: Record<string, string>;
}

interface Spec {
  paths: Record<string, Record<string, OpenApiOperation>>;
}

const METHODS = ["get", "post", "put", "patch", "delete"];
let cachedRoutes: Route[] | undefined;

function specPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@octokit/openapi/package.json");
  return pkg.replace(/package\.json$/, "generated/api.github.com.deref.json");
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compileRoute(method: string, template: string, operation: OpenApiOperation): Route {
  const multi = new Set((operation.parameters ?? []).filter((p) => p["x-multi-segment"]).map((p) => p.name));
  const paramNames: string[] = [];
  let literalCount = 0;
  const parts = template.split("/").map((segment) => {
    const m = /^\{(.+)\}$/.exec(segment);
    if (!m?.[1]) {
      if (segment) literalCount++;
      return escapeRegex(segment);
    }
    paramNames.push(m[1]);
    return multi.has(m[1]) ? "(.+?)" : "([^/]+)";
  });
  const regex = new RegExp(`^${parts.join("/")}$`);
  return { method, template, regex, paramNames, literalCount, multiCount: multi.size, operation };
}

function buildRoutes(): Route[] {
  const spec = JSON.parse(readFileSync(specPath(), "utf8")) as Spec;
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) routes.push(compileRoute(method.toUpperCase(), template, op));
    }
  }
  return routes;
}

/** All operations of the published description (loaded and compiled once per process). */
export function routes(): Route[] {
  cachedRoutes ??= buildRoutes();
  return cachedRoutes;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function betterThan(a: Route, b: Route | undefined): boolean {
  if (!b) return true;
  if (a.literalCount !== b.literalCount) return a.literalCount > b.literalCount;
  return a.multiCount < b.multiCount;
}

/** Matches a raw (still percent-encoded) pathname; path params are returned decoded. */
export function matchOperation(method: string, rawPath: string): OperationMatch | undefined {
  let best: { route: Route; m: RegExpExecArray } | undefined;
  for (const route of routes()) {
    if (route.method !== method) continue;
    const m = route.regex.exec(rawPath);
    if (m && betterThan(route, best?.route)) best = { route, m };
  }
  if (!best) return undefined;
  const { route, m } = best;
  const params: Record<string, string> = {};
  route.paramNames.forEach((name, i) => {
    params[name] = safeDecode(m[i + 1] ?? "");
  });
  return { template: route.template, operation: route.operation, params };
}

/** True when some other method exists for this path (used to word the error). */
export function pathExists(rawPath: string): boolean {
  return routes().some((r) => r.regex.test(rawPath));
}

export { safeDecode };
