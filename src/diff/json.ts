/** Small helpers over parsed YAML/JSON values: paths, changed leaves, embedded YAML. */
import { isDeepStrictEqual } from "node:util";
import { parseYamlDocuments } from "../validate/fast-yaml.js";

/** A parsed YAML mapping. */
export type Json = Record<string, unknown>;

export function get(v: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>((node, k) => (isObject(node) ? node[k] : undefined), v);
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Leaves of a mapping as dotted paths; lists are leaves. */
export function flatten(v: unknown, prefix = ""): Array<[string, unknown]> {
  if (!isObject(v) || (prefix && Object.keys(v).length === 0)) return [[prefix, v]];
  return Object.entries(v).flatMap(([k, child]) => flatten(child, prefix ? `${prefix}.${k}` : k));
}

/** Dotted paths whose leaves differ, sorted. */
export function changedPaths(before: unknown, after: unknown): Array<[string, unknown, unknown]> {
  const [b, a] = [new Map(flatten(before)), new Map(flatten(after))];
  return [...new Set([...b.keys(), ...a.keys()])]
    .sort()
    .filter((p) => !isDeepStrictEqual(b.get(p), a.get(p)))
    .map((p) => [p, b.get(p), a.get(p)]);
}

/** Top-level keys whose values differ, in first-seen order. */
export function changedKeys(before: Json, after: Json): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => !isDeepStrictEqual(before[k], after[k]),
  );
}

/** `<what> <item> added` / `removed` lines for two lists, counting repeats (a duplicated arg is added). */
export function listChange(what: string, before: string[], after: string[]): string[] {
  const surplus = (xs: string[], ys: string[]) => {
    const left = [...ys];
    return xs.filter((x) => {
      const i = left.indexOf(x);
      if (i >= 0) left.splice(i, 1);
      return i < 0;
    });
  };
  return [
    ...surplus(after, before).map((x) => `${what} ${x} added`),
    ...surplus(before, after).map((x) => `${what} ${x} removed`),
  ];
}

/** `old → new`, each shown short. */
export function arrow(before: unknown, after: unknown): string {
  return `${show(before)} → ${show(after)}`;
}

export function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const text = typeof v === "string" && isPlain(v) ? v : JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
}

/** A string that reads unambiguously without quotes: not empty, no spaces, not a number, boolean or null. */
function isPlain(s: string): boolean {
  return /^[\w.:/+@-]+$/.test(s) && !/^(-?\d+(\.\d+)?|true|false|null)$/.test(s);
}

/**
 * The value with every multi-line string that holds YAML documents (a Secret's stringData carrying a
 * config file, an embedded ytt overlay) replaced by its parsed content, so a change inside it is
 * described by path instead of as two long strings. Several documents are keyed `Kind name`, else by index.
 */
export function expandEmbeddedYaml(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expandEmbeddedYaml);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, expandEmbeddedYaml(c)]));
  return typeof v === "string" && v.includes("\n") ? (embeddedYaml(v) ?? v) : v;
}

function embeddedYaml(text: string): unknown {
  const { values, errors } = parseYamlDocuments(text);
  if (errors.length > 0) return undefined;
  const objects = values.filter(isObject);
  if (objects.length === 0) return undefined;
  if (objects.length === 1) return expandEmbeddedYaml(objects[0]);
  return Object.fromEntries(
    objects.map((o, i) => [
      o.kind ? `${String(o.kind)} ${String(get(o, ["metadata", "name"]))}` : String(i),
      expandEmbeddedYaml(o),
    ]),
  );
}
