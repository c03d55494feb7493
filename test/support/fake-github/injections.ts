/** Failure injection: queued fake responses (or dropped connections) for matching requests. */
import { STATUS_CODES } from "node:http";
import { errorBody } from "./errors.js";
import type { Injection, RouteResult } from "./types.js";

interface Pending {
  injection: Injection;
  left: number;
}

function matches(i: Injection, method: string, path: string, template: string | undefined): boolean {
  if (i.method && i.method.toUpperCase() !== method) return false;
  if (i.path instanceof RegExp) return i.path.test(path);
  return i.path === path || i.path === template;
}

export class InjectionQueue {
  private readonly pending: Pending[] = [];

  add(injection: Injection): void {
    this.pending.push({ injection, left: injection.times ?? 1 });
  }

  /** consumes one use of the first matching injection */
  take(method: string, path: string, template?: string): Injection | undefined {
    const hit = this.pending.find((p) => p.left > 0 && matches(p.injection, method, path, template));
    if (hit) hit.left--;
    return hit?.injection;
  }
}

const SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

function defaultMessage(status: number, headers: Record<string, string>): string {
  if (status === 401) return "Bad credentials";
  if (status === 429 || headers["retry-after"] !== undefined) return SECONDARY;
  if (status === 403 && headers["x-ratelimit-remaining"] === "0")
    return "API rate limit exceeded for user ID 1.";
  if (status === 403) return "Resource not accessible by integration";
  return STATUS_CODES[status] ?? "Error";
}

function defaultHeaders(status: number, given: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  if (status === 429 && given["retry-after"] === undefined) h["retry-after"] = "1";
  const plain403 =
    status === 403 && given["x-ratelimit-remaining"] !== "0" && given["retry-after"] === undefined;
  if (plain403) h["x-accepted-oauth-scopes"] = "repo";
  return h;
}

function lower(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

export function injectedResult(i: Injection): RouteResult {
  const status = i.status ?? 500;
  const given = lower(i.headers);
  const headers = { ...defaultHeaders(status, given), ...given };
  const body = i.body !== undefined ? i.body : errorBody(status, defaultMessage(status, headers));
  return { status, headers, body };
}

/** ready-made injections for the common GitHub failure modes */
export const failures = {
  badCredentials: (path: RegExp | string, method?: string): Injection => ({ path, method, status: 401 }),
  missingScope: (path: RegExp | string, method?: string): Injection => ({
    path,
    method,
    status: 403,
    headers: { "x-accepted-oauth-scopes": "repo", "x-oauth-scopes": "" },
  }),
  primaryRateLimit: (path: RegExp | string, resetInSeconds = 1, method?: string): Injection => ({
    path,
    method,
    status: 403,
    headers: {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-used": "5000",
      "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + resetInSeconds),
    },
  }),
  secondaryRateLimit: (path: RegExp | string, status: 403 | 429 = 403, method?: string): Injection => ({
    path,
    method,
    status,
    headers: { "retry-after": "1" },
  }),
  networkError: (path: RegExp | string, method?: string): Injection => ({ path, method, networkError: true }),
};
