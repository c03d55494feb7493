/**
 * Checking a few values against a large schema without compiling all of it. ajv compiles a whole schema
 * to code before it checks anything, and a CRD's or a Package's schema is mostly branches a given value
 * never reaches: compiling kapp-controller's App schema costs ~0.1 s of CPU, checking one App a few µs.
 * `validate --changed-since` checks one cluster, so that compile was most of its CPU.
 *
 * The schema is pruned to what the value reaches: a `properties` entry is only kept when the value has
 * that key. A property the value does not have adds no error (its schema never runs; `required` and
 * `additionalProperties` are kept, and still see every key of the value), so the pruned schema gives the
 * value exactly the errors, in the same order, as the whole one. Values with the same shape share one
 * compiled pruned schema; after MAX_SHAPES shapes or MAX_PRUNED_VALUES values the whole schema is
 * compiled and used from then on.
 * A schema with references (or any keyword whose meaning depends on other parts) is never pruned.
 */
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import { sha256Hex } from "../util/sha256.js";
import { META_SHA256, validate as precompiledMeta } from "./meta-validator.generated.js";

type Schema = Record<string, unknown>;

/**
 * When the whole schema is compiled instead: after this many shapes, or values (pruning one costs a walk
 * over the schema's branches it has keys for, and `validate` on a whole fleet checks thousands).
 */
const MAX_SHAPES = 16;
const MAX_PRUNED_VALUES = 64;

/** Subschemas applied to the value itself, in a list or alone. */
const SAME_VALUE_LISTS = ["allOf", "anyOf", "oneOf"];
const SAME_VALUE_ONE = ["not", "if", "then", "else"];

/**
 * Keywords that refer to other parts of the schema or to what other keywords evaluated: a schema with any
 * of them (even as a property name, which costs only time) is compiled whole.
 */
const NOT_PRUNABLE = new Set([
  "$ref",
  "$id",
  "id",
  "$anchor",
  "$dynamicRef",
  "$dynamicAnchor",
  "$recursiveRef",
  "$recursiveAnchor",
  "$defs",
  "definitions",
  "dependencies",
  "dependentSchemas",
  "unevaluatedProperties",
  "unevaluatedItems",
]);

/** A value's errors against a schema (empty when it passes), the same as ajv's for the whole schema. */
export type InstanceValidator = (value: unknown) => ErrorObject[];

/**
 * A validator for `schema`. The whole schema is checked against ajv's meta-schema first, so a schema ajv
 * would refuse is refused here too (with ajv's error), whatever part of it the values reach.
 */
export function instanceValidator(schema: Schema, options: Options): InstanceValidator {
  if (!prunable(schema)) {
    const validate = new Ajv(options).compile(schema);
    return (value) => errorsOf(validate, value);
  }
  // checked once against the meta-schema here, so not again for each pruned part
  const ajv = sharedAjv(options);
  checkAgainstMetaSchema(ajv, schema, options);
  let full: ValidateFunction | undefined;
  const whole = () => (full ??= ajv.compile(schema));
  const shapes = new Map<string, ValidateFunction>();
  let checked = 0;
  return (value) => {
    if (full || ++checked > MAX_PRUNED_VALUES) return errorsOf(whole(), value);
    const pruned = prune(schema, [value]) as Schema;
    const key = JSON.stringify(pruned);
    let compiled = shapes.get(key);
    if (!compiled) {
      if (shapes.size >= MAX_SHAPES) return errorsOf(whole(), value);
      shapes.set(key, (compiled = ajv.compile(pruned)));
    }
    return errorsOf(compiled, value);
  };
}

/**
 * One ajv per options, shared by every validator: each ajv compiles the meta-schema on first use
 * (~30 ms of CPU), and compiled pruned schemas need no meta check of their own.
 */
const ajvs = new Map<string, Ajv>();

function sharedAjv(options: Options): Ajv {
  const key = JSON.stringify(options);
  let ajv = ajvs.get(key);
  if (!ajv) ajvs.set(key, (ajv = new Ajv({ ...options, validateSchema: false })));
  return ajv;
}

/**
 * Throws ajv's own "schema is invalid: …" for a schema the draft-07 meta-schema rejects, checked by the
 * validator compiled ahead of time (scripts/generate-meta-validator.mjs) when it was generated from this
 * ajv, meta-schema and options; else by ajv, which compiles the meta-schema first.
 */
function checkAgainstMetaSchema(ajv: Ajv, schema: Schema, options: Options): void {
  if (!precompiledMetaFits(options)) {
    ajv.validateSchema(schema, true);
    return;
  }
  const meta = precompiledMeta as unknown as ValidateFunction;
  if (!meta(schema)) throw new Error(`schema is invalid: ${ajv.errorsText(meta.errors)}`);
}

function precompiledMetaFits(options: Options): boolean {
  const require = createRequire(import.meta.url);
  const meta: unknown = require("ajv/dist/refs/json-schema-draft-07.json");
  const { version } = require("ajv/package.json") as { version: string };
  return META_SHA256 === sha256Hex(JSON.stringify([meta, version, options]));
}

function errorsOf(validate: ValidateFunction, value: unknown): ErrorObject[] {
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** No keyword in NOT_PRUNABLE anywhere in it. */
export function prunable(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(prunable);
  if (!isObject(node)) return true;
  return Object.entries(node).every(([k, v]) => !NOT_PRUNABLE.has(k) && prunable(v));
}

/** `schema` with only the properties some of `values` (the values that reach it) have, recursively. */
export function prune(schema: unknown, values: unknown[]): unknown {
  if (!isObject(schema)) return schema;
  const out: Schema = { ...schema };
  const objects = values.filter(isObject);
  if (isObject(schema.properties)) out.properties = prunedProperties(schema.properties, objects);
  if (isObject(schema.additionalProperties))
    out.additionalProperties = prune(
      schema.additionalProperties,
      objects.flatMap((o) => Object.values(o)),
    );
  if (isObject(schema.items))
    out.items = prune(
      schema.items,
      values.flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [])),
    );
  for (const k of SAME_VALUE_LISTS)
    if (Array.isArray(schema[k])) out[k] = (schema[k] as unknown[]).map((s) => prune(s, values));
  for (const k of SAME_VALUE_ONE) if (isObject(schema[k])) out[k] = prune(schema[k], values);
  return out;
}

function prunedProperties(properties: Schema, objects: Schema[]): Schema {
  const kept: [string, unknown][] = [];
  for (const [key, sub] of Object.entries(properties)) {
    const reaching = objects.filter((o) => Object.hasOwn(o, key)).map((o) => o[key]);
    if (reaching.length > 0) kept.push([key, prune(sub, reaching)]);
  }
  return Object.fromEntries(kept); // a property named __proto__ stays a property
}

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
