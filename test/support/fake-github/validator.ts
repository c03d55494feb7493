/** ajv validation of requests (and, informationally, responses) against the OpenAPI operation. */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { OpenApiOperation, OpenApiParameter } from "./openapi.js";
import { githubConstraints } from "./constraints.js";

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  addFormatsModule) as unknown as FormatsPlugin;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: coerce ? "array" : false, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
  ajv.addFormat("timestamp", true);
  return ajv;
}

let bodyAjv: Ajv | undefined;
let paramAjv: Ajv | undefined;
const cache = new Map<string, ValidateFunction | null>();

function compileCached(key: string, coerce: boolean, schema: Record<string, unknown> | undefined) {
  if (!cache.has(key)) {
    if (coerce) paramAjv ??= makeAjv(true);
    else bodyAjv ??= makeAjv(false);
    cache.set(key, schema ? (coerce ? paramAjv! : bodyAjv!).compile(schema) : null);
  }
  return cache.get(key) ?? undefined;
}

function paramsSchema(op: OpenApiOperation, where: "path" | "query") {
  const list = (op.parameters ?? []).filter((p: OpenApiParameter) => p.in === where);
  if (list.length === 0) return undefined;
  const properties = Object.fromEntries(list.map((p) => [p.name, p.schema ?? {}]));
  const required = list.filter((p) => p.required).map((p) => p.name);
  return { type: "object", properties, required };
}

function jsonSchema(content: Record<string, { schema?: Record<string, unknown> }> | undefined) {
  if (!content) return undefined;
  const key = Object.keys(content).find((k) => k.includes("json"));
  return key ? content[key]?.schema : undefined;
}

export function formatAjvErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const at = `${where}${e.instancePath}`;
    if (e.keyword === "required") return `${at}: "${String(e.params.missingProperty)}" wasn't supplied.`;
    if (e.keyword === "enum") return `${at} ${e.message}: ${JSON.stringify(e.params.allowedValues)}`;
    return `${at} ${e.message ?? e.keyword}`;
  });
}

function run(key: string, coerce: boolean, schema: Record<string, unknown> | undefined, data: unknown, where: string) {
  const validate = compileCached(key, coerce, schema);
  if (!validate || validate(coerce ? structuredClone(data) : data)) return [];
  return formatAjvErrors(where, validate.errors);
}

export interface RequestParts {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  hasBody: boolean;
}

function validateBody(op: OpenApiOperation, parts: RequestParts): string[] {
  const rb = op.requestBody;
  if (!rb) return [];
  if (!parts.hasBody) return rb.required ? ["body: a JSON request body is required"] : [];
  const schema = jsonSchema(rb.content);
  return run(`${op.operationId}#body`, false, schema, parts.body, "body");
}

/** Returns human readable violations of the published description (plus known server-side rules). */
export function validateRequest(op: OpenApiOperation, parts: RequestParts): string[] {
  const errors = [
    ...run(`${op.operationId}#path`, true, paramsSchema(op, "path"), parts.params, "path"),
    ...run(`${op.operationId}#query`, true, paramsSchema(op, "query"), parts.query, "query"),
    ...validateBody(op, parts),
  ];
  return errors.length > 0 ? errors : githubConstraints(op.operationId, parts.body);
}

/** Informational check of a JSON response body; returns at most a few problems. */
export function validateResponse(op: OpenApiOperation, status: number, body: unknown): string[] {
  const resp = op.responses?.[String(status)] ?? op.responses?.default;
  const schema = jsonSchema(resp?.content);
  if (!schema) return [];
  return run(`${op.operationId}#${status}`, false, schema, body, "response").slice(0, 5);
}
