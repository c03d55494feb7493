/** ajv validation of requests (and, informationally, responses) against the OpenAPI operation. */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { githubConstraints } from "./constraints.js";
import type { OpenApiOperation, OpenApiParameter } from "./openapi.js";
import { normalizeSchema } from "./schema-normalize.js";

type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  addFormatsModule) as unknown as FormatsPlugin;

/** params are strings on the wire and get coerced; bodies are strict; responses are lenient on "" URLs */
type Flavor = "params" | "body" | "response";
type Schema = Record<string, unknown>;

function makeAjv(flavor: Flavor): Ajv {
  const coerceTypes = flavor === "params" ? "array" : false;
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
  ajv.addFormat("timestamp", true);
  // GitHub itself answers "" for unset URL fields (e.g. a deployment status' target_url)
  if (flavor === "response") ajv.addFormat("uri", (s: string) => s === "" || URL.canParse(s));
  return ajv;
}

const instances = new Map<Flavor, Ajv>();
const cache = new Map<string, ValidateFunction | string | null>();
/** many operations share a schema (a pull request, a git ref): compile each distinct one once */
const byContent = new Map<string, ValidateFunction | string>();

function ajvFor(flavor: Flavor): Ajv {
  let ajv = instances.get(flavor);
  if (!ajv) instances.set(flavor, (ajv = makeAjv(flavor)));
  return ajv;
}

function compile(flavor: Flavor, schema: Schema): ValidateFunction | string {
  try {
    return ajvFor(flavor).compile(normalizeSchema(schema) as Schema);
  } catch (e) {
    return `schema could not be compiled: ${(e as Error).message}`;
  }
}

/** compiled lazily per operation and cached for the process; a string is a compile failure */
function compiled(key: string, flavor: Flavor, schema: Schema | undefined) {
  if (!cache.has(key)) cache.set(key, schema ? compiledByContent(flavor, schema) : null);
  return cache.get(key) ?? undefined;
}

/** keyed by flavor and the schema's full text, so a hit is always the same schema compiled the same way */
function compiledByContent(flavor: Flavor, schema: Schema): ValidateFunction | string {
  const contentKey = `${flavor}\n${JSON.stringify(schema)}`;
  let validate = byContent.get(contentKey);
  if (validate === undefined) byContent.set(contentKey, (validate = compile(flavor, schema)));
  return validate;
}

export function formatAjvErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const at = `${where}${e.instancePath}`;
    if (e.keyword === "required") return `${at}: "${String(e.params.missingProperty)}" wasn't supplied.`;
    if (e.keyword === "enum") return `${at} ${e.message}: ${JSON.stringify(e.params.allowedValues)}`;
    return `${at} ${e.message ?? e.keyword}`;
  });
}

function run(
  key: string,
  flavor: Flavor,
  schema: Schema | undefined,
  data: unknown,
  where: string,
): string[] {
  const validate = compiled(key, flavor, schema);
  if (typeof validate === "string") {
    if (flavor === "response") return [validate];
    console.warn(`fake-github: ${key}: ${validate}`);
    return [];
  }
  if (!validate || validate(flavor === "params" ? structuredClone(data) : data)) return [];
  return formatAjvErrors(where, validate.errors);
}

function paramsSchema(op: OpenApiOperation, where: "path" | "query"): Schema | undefined {
  const list = (op.parameters ?? []).filter((p: OpenApiParameter) => p.in === where);
  if (list.length === 0) return undefined;
  const properties = Object.fromEntries(list.map((p) => [p.name, p.schema ?? {}]));
  const required = list.filter((p) => p.required).map((p) => p.name);
  return { type: "object", properties, required };
}

function jsonSchema(content: Record<string, { schema?: Schema }> | undefined): Schema | undefined {
  if (!content) return undefined;
  const key = Object.keys(content).find((k) => k.includes("json"));
  return key ? content[key]?.schema : undefined;
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
  return run(`${op.operationId}#body`, "body", jsonSchema(rb.content), parts.body, "body");
}

/** Returns human readable violations of the published description (plus known server-side rules). */
export function validateRequest(op: OpenApiOperation, parts: RequestParts): string[] {
  const errors = [
    ...run(`${op.operationId}#path`, "params", paramsSchema(op, "path"), parts.params, "path"),
    ...run(`${op.operationId}#query`, "params", paramsSchema(op, "query"), parts.query, "query"),
    ...validateBody(op, parts),
  ];
  return errors.length > 0 ? errors : githubConstraints(op.operationId, parts.body);
}

/** Informational check of a JSON response body; returns at most a few problems, never throws. */
export function validateResponse(op: OpenApiOperation, status: number, body: unknown): string[] {
  const resp = op.responses?.[String(status)] ?? op.responses?.default;
  const schema = jsonSchema(resp?.content);
  if (!schema) return [];
  return run(`${op.operationId}#${status}`, "response", schema, body, "response").slice(0, 5);
}
