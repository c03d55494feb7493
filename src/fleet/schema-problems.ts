/**
 * Checks a parsed spec against the JSON schema and says what ajv found in the spec's own terms: which key,
 * what is wrong with its value, and what to write instead (never the schema library's wording).
 */
import { createRequire } from "node:module";
import type { ErrorObject } from "ajv";
import { closest } from "fastest-levenshtein";
import type { Problem } from "../util/errors.js";
import { sha256Hex } from "../util/sha256.js";
import { SCHEMA_SHA256, validate as precompiled } from "./fleet-validator.generated.js";
import { locatorFor, pointerSegments, valueAt, type Location, type SpecSource } from "./locate.js";
import { fleetSchema, PATTERN_FIXES, type RawFleet } from "./schema.js";

interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** The options scripts/generate-fleet-validator.mjs compiles with (AJV_OPTIONS there). */
const AJV_OPTIONS = { allErrors: true, strict: false };

/**
 * The schema compiled ahead of time (scripts/generate-fleet-validator.mjs), or, when the schema changed
 * since, compiled here: a stale generated file costs ajv's compile time, never a wrong check.
 */
const validateSchema: Validator =
  SCHEMA_SHA256 === sha256Hex(JSON.stringify(fleetSchema)) ? (precompiled as Validator) : compileSchema();

function compileSchema(): Validator {
  const { Ajv } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
  return new Ajv(AJV_OPTIONS).compile(fleetSchema) as Validator;
}

const README_FIX = 'see "The fleet spec" in the README';

/**
 * The spec typed as the schema describes it, or every schema problem in the spec's terms. `passed` is a
 * spec known to pass (the one an edit started from): the values `raw` shares with it, object for object
 * (frozen, as the spec reader shares them), are not checked again.
 */
export function checkSchema(
  raw: unknown,
  source: SpecSource,
  passed?: unknown,
): { fleet: RawFleet } | { problems: Problem[] } {
  const part = passed === undefined ? undefined : uncheckedPart(raw, passed);
  if (part !== undefined && validateSchema(part)) return { fleet: raw as RawFleet };
  if (validateSchema(raw)) return { fleet: raw as RawFleet };
  const errors = (validateSchema.errors ?? []).filter(isReportable);
  return { problems: withoutRepeats(errors.map((e) => schemaProblem(e, source))) };
}

type Fields = Record<string, unknown>;

const isMapping = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Whether the schema's verdict on a spec is its verdict on the fields besides `clusters` and on each
 * cluster entry alone: the root only lists properties, and `clusters` is an array of items, each checked
 * by one schema, with no keyword relating entries. Checked once, so a schema that grows such a keyword
 * costs full checks, never a wrong verdict.
 */
const ENTRYWISE = ((): boolean => {
  const root: Fields = fleetSchema;
  const clusters: Fields = fleetSchema.properties.clusters;
  const only = (o: Fields, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));
  return (
    only(root, ["type", "additionalProperties", "required", "properties"]) &&
    only(clusters, ["type", "minItems", "items"]) &&
    clusters.type === "array" &&
    isMapping(clusters.items)
  );
})();

/**
 * What of `raw` is left to check when `passed` passed: the spec with only the cluster entries `passed`
 * does not hold (one entry when there are none, so `minItems` is still checked). Undefined when a field
 * besides `clusters` differs (the whole spec is checked).
 */
function uncheckedPart(raw: unknown, passed: unknown): unknown {
  if (!ENTRYWISE || !isMapping(raw) || !isMapping(passed)) return undefined;
  const keys = Object.keys(raw);
  if (keys.length !== Object.keys(passed).length) return undefined;
  if (keys.some((k) => k !== "clusters" && !(k in passed && same(raw[k], passed[k])))) return undefined;
  if (!Array.isArray(raw.clusters) || !Array.isArray(passed.clusters)) return undefined;
  const known = new Set<unknown>(passed.clusters);
  const fresh = raw.clusters.filter((c) => !(known.has(c) && same(c, c)));
  return { ...raw, clusters: fresh.length > 0 ? fresh : raw.clusters.slice(0, 1) };
}

/** The same value: the same primitive, or the same object, frozen so that it cannot have changed since. */
function same(a: unknown, b: unknown): boolean {
  return a === b && (typeof a !== "object" || a === null || Object.isFrozen(a));
}

/**
 * `if`/`anyOf` wrappers repeat what their branches say; a property name's own pattern error repeats
 * its `propertyNames` error.
 */
function isReportable(e: ErrorObject): boolean {
  return e.keyword !== "if" && e.keyword !== "anyOf" && e.propertyName === undefined;
}

/** An empty value fails both `minLength` and `pattern`: say it once. */
function withoutRepeats(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function schemaProblem(e: ErrorObject, source: SpecSource): Problem {
  const at = locatorFor(source);
  const value = valueAt(source.doc, e.instancePath);
  const params = e.params as Record<string, unknown>;
  const here = (text: Omit<Problem, keyof Location>): Problem => ({ ...at(e.instancePath), ...text });
  switch (e.keyword) {
    case "additionalProperties":
      return unknownKey(
        String(params.additionalProperty),
        e,
        at(e.instancePath, String(params.additionalProperty)),
      );
    case "required":
      return here({
        message: `missing required key "${String(params.missingProperty)}"`,
        fix: `add "${String(params.missingProperty)}"`,
      });
    case "pattern":
      return here({
        message: value === "" ? "is empty" : `${JSON.stringify(value)} is not allowed here`,
        fix: PATTERN_FIXES[String(params.pattern)] ?? README_FIX,
      });
    case "enum":
      return here({
        message: `${JSON.stringify(value)} is not one of ${(params.allowedValues as unknown[]).join(", ")}`,
        fix: nearest(value, params.allowedValues as unknown[]),
      });
    case "const":
      return here({
        message: `must be ${JSON.stringify(params.allowedValue)}`,
        fix: `set it to ${JSON.stringify(params.allowedValue)}`,
      });
    case "propertyNames":
      return {
        ...at(e.instancePath, String(params.propertyName)),
        message: `key ${JSON.stringify(params.propertyName)} is not a dotted path of names`,
        fix: "write keys like prometheus.pvc.storage: letters, digits, '_' and '-', separated by dots",
      };
    case "type":
      return here({
        message: `${e.instancePath === "" ? "the fleet spec " : ""}is ${describe(value)}, but must be ${TYPE_NAMES[String(params.type)] ?? String(params.type)}`,
        fix: TYPE_FIXES[String(params.type)] ?? README_FIX,
      });
    case "minItems":
      return here({
        message: "is an empty list",
        fix: `list at least ${String(params.limit)} ${params.limit === 1 ? "entry" : "entries"}`,
      });
    case "minLength":
      return here({ message: "is empty", fix: `write at least ${String(params.limit)} character(s)` });
    case "maxLength":
      return here({
        message: `is ${String(value).length} characters long`,
        fix: `shorten it to at most ${String(params.limit)} characters`,
      });
    default:
      return here({ message: "is not valid here", fix: README_FIX });
  }
}

function unknownKey(key: string, e: ErrorObject, location: Location): Problem {
  const allowed = Object.keys(propertiesAt(e.schemaPath));
  const guess = allowed.length > 0 ? closest(key, allowed) : undefined;
  return {
    ...location,
    message: `unknown key "${key}"`,
    fix: guess ? `did you mean "${guess}"? Allowed here: ${allowed.join(", ")}` : "remove it",
  };
}

function nearest(value: unknown, allowed: unknown[]): string {
  const names = allowed.map(String);
  return typeof value === "string"
    ? `did you mean "${closest(value, names)}"?`
    : "use one of the listed values";
}

/** The `properties` of the schema object an `additionalProperties` error came from. */
function propertiesAt(schemaPath: string): Record<string, unknown> {
  const segments = pointerSegments(schemaPath.replace(/^#/, "")).slice(0, -1);
  let node: unknown = fleetSchema;
  for (const segment of segments) node = (node as Record<string, unknown> | undefined)?.[segment];
  return (node as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping of keys (key: value lines, indented below it)",
  array: "a list (lines starting with '- ', indented below it)",
  string: "text",
  boolean: "true or false",
};

const TYPE_FIXES: Record<string, string> = {
  object: `indent its keys below it; ${README_FIX} for the keys it takes`,
  array: "write each entry on its own line starting with '- '",
  string: 'quote the value, e.g. "1.0"',
  boolean: "write true or false",
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${JSON.stringify(value)}`;
  if (typeof value === "boolean") return String(value);
  return `the number ${String(value)}`;
}
