/** Adapts OpenAPI 3.0 schema quirks (nullable) to what ajv compiles without complaint. */

type Json = unknown;

function normalizeObject(node: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "example" || k === "examples" || k === "description") continue;
    out[k] = normalizeSchema(v);
  }
  if (out.nullable !== true) return out;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (out.type !== undefined) return out;
  delete out.nullable;
  return { anyOf: [out, { type: "null" }] };
}

/** deep copy of `schema` in which `nullable` without `type` becomes anyOf [..., null] */
export function normalizeSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(normalizeSchema);
  if (typeof schema !== "object" || schema === null) return schema;
  return normalizeObject(schema as Record<string, Json>);
}
