/** Deterministic YAML: sorted keys with the Kubernetes ones first, no line folding. */
import { yamlLibrary } from "../util/yaml-library.js";

/** Keys that read best first in Kubernetes resources and Prometheus jobs; the rest sort by name. */
const LEADING_KEYS = ["apiVersion", "kind", "metadata", "job_name", "name", "namespace"];

function rank(key: string): number {
  const i = LEADING_KEYS.indexOf(key);
  return i === -1 ? LEADING_KEYS.length : i;
}

function compareNames(ka: string, kb: string): number {
  return rank(ka) - rank(kb) || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

function compareKeys(a: { key: unknown }, b: { key: unknown }): number {
  const ka = String((a.key as { value?: unknown })?.value ?? a.key);
  const kb = String((b.key as { value?: unknown })?.value ?? b.key);
  return compareNames(ka, kb);
}

/** Deterministic YAML: sorted keys (order is free in maps), no line folding, block literals for text. */
export function toYaml(value: unknown): string {
  return fastYaml(value) ?? libraryYaml(value);
}

/** The yaml library's text, which fastYaml reproduces byte for byte or leaves to it. */
export function libraryYaml(value: unknown): string {
  const doc = new (yamlLibrary().Document)(value, { sortMapEntries: compareKeys });
  return doc.toString({ lineWidth: 0, indentSeq: false, blockQuote: "literal" });
}

/** Several documents in one file, each started by `---`. */
export function toYamlDocuments(values: unknown[]): string {
  return values.map((v) => `---\n${toYaml(v)}`).join("");
}

/**
 * Serialising YAML with the yaml library is most of render's own CPU on large fleets. Render's data is
 * plain (objects, arrays, strings, safe integers, booleans, null), and for it the library's layout is
 * simple: two spaces per map level, sequences not indented under their key, a map or sequence in a
 * sequence starting on the dash's line, `{}` and `[]` for empty ones. fastYaml writes that layout
 * directly and asks the library only how to write each distinct scalar it cannot vouch for (cached),
 * and returns undefined, leaving the whole value to the library, for anything else: a top-level
 * scalar, a multi-line string, a non-integer number, a Map or class instance, undefined in a list.
 * A test compares both on every file of rendered fleets and on generated values with awkward strings.
 */
export function fastYaml(value: unknown): string | undefined {
  if (!isPlainObject(value) && !Array.isArray(value)) return undefined;
  const out: string[] = [];
  return writeCollection(value, "", out) ? out.join("") : undefined;
}

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Writes a non-scalar's lines, each starting with `indent`; false when the library must write it. An
 * empty map or list is written by the caller (`{}`, `[]`), never here.
 */
function writeCollection(value: Plain | unknown[], indent: string, out: string[]): boolean {
  return Array.isArray(value) ? writeSeq(value, indent, out) : writeMap(value, indent, out);
}

function writeMap(map: Plain, indent: string, out: string[]): boolean {
  const keys = Object.keys(map)
    .filter((k) => map[k] !== undefined)
    .sort(compareNames);
  if (keys.length === 0) return false;
  for (const key of keys) {
    const text = scalarText(key, "key");
    if (text === undefined) return false;
    out.push(indent, text, ":");
    if (!writeValue(map[key], indent, "  ", out)) return false;
  }
  return true;
}

function writeSeq(items: unknown[], indent: string, out: string[]): boolean {
  if (items.length === 0) return false;
  for (const item of items) {
    if (item === undefined) return false;
    out.push(indent, "-");
    if (!writeValue(item, indent, "  ", out)) return false;
  }
  return true;
}

/**
 * After `key:` or `-`: a scalar or empty collection on the same line; a map or list below, at
 * `indent + step` — except a list under a key (not indented) and a collection in a list, which starts
 * on the dash's line.
 */
function writeValue(value: unknown, indent: string, step: string, out: string[]): boolean {
  const afterDash = out[out.length - 1] === "-";
  if (isPlainObject(value) || Array.isArray(value)) {
    const empty = Array.isArray(value)
      ? value.length === 0
      : Object.keys(value).every((k) => value[k] === undefined);
    if (empty) {
      out.push(Array.isArray(value) ? " []\n" : " {}\n");
      return true;
    }
    if (afterDash) {
      // the first line goes on the dash's line: write it with the nested indent, then drop that indent
      const start = out.length;
      if (!writeCollection(value, indent + step, out)) return false;
      out[start] = " ";
      return true;
    }
    out.push("\n");
    return writeCollection(value, Array.isArray(value) ? indent : indent + step, out);
  }
  const text = scalarText(value, afterDash ? "item" : "value");
  if (text === undefined) return false;
  out.push(" ", text, "\n");
  return true;
}

type Context = "key" | "value" | "item";

/**
 * Plain YAML for sure: starts with a letter, `_`, `/` or `./`, then letters, digits and `_ . / -` only
 * (so never a number, `.inf`, `-` or `...`).
 */
const SIMPLE = /^(?:[A-Za-z_]|\.?\/)[A-Za-z0-9_./-]*$/;
/** Words some YAML schemas read as booleans or null: left to the library (it may quote them). */
const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n)$/i;

const DOCUMENT_MARKER = /^(?:%|---|\.\.\.)/m;

const libraryScalars: Record<Context, Map<string, string | undefined>> = {
  key: new Map(),
  value: new Map(),
  item: new Map(),
};

/** True when YAML surely writes `text` as it is, unquoted, wherever it goes; false when unsure. */
export function surelyPlain(text: string): boolean {
  return SIMPLE.test(text) && !RESERVED.test(text);
}

function scalarText(value: unknown, context: Context): string | undefined {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number")
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : undefined;
  if (typeof value !== "string") return undefined;
  if (surelyPlain(value)) return value;
  // the library writes a document marker at the start of a line by its position (`"---":` at the
  // top, `---:` further in): leave such values to it
  if (DOCUMENT_MARKER.test(value)) return undefined;
  const cache = libraryScalars[context];
  if (cache.has(value)) return cache.get(value);
  const text = libraryScalar(value, context);
  cache.set(value, text);
  return text;
}

/** How the library writes `text` in `context`, when that is one line; else undefined. */
function libraryScalar(text: string, context: Context): string | undefined {
  const [prefix, suffix, yaml] =
    context === "key"
      ? ["", ": null\n", libraryYaml({ [text]: null })]
      : context === "value"
        ? ["k: ", "\n", libraryYaml({ k: text })]
        : ["- ", "\n", libraryYaml([text])];
  if (!yaml.startsWith(prefix) || !yaml.endsWith(suffix)) return undefined;
  const scalar = yaml.slice(prefix.length, yaml.length - suffix.length);
  return scalar.includes("\n") ? undefined : scalar;
}
