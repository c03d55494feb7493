/**
 * The spec's value, read fast. The yaml library builds a full document (nodes, ranges, comments) and, in a
 * short-lived CLI, takes ~10× longer than reading the values, which a fleet of thousands of clusters pays
 * on every command; its document is only needed to point at a problem. js-yaml reads the values directly.
 *
 * The two libraries must never disagree, so js-yaml gets a schema with exactly YAML 1.2's core schema
 * resolution (the yaml library's default; js-yaml's own core schema also reads `0b11`, `-0x1` as numbers
 * and `+.5` as a string) plus merge keys (SPEC_YAML_OPTIONS). For the rest the answer is undefined and the
 * caller parses with the yaml library, which also reports the errors: anchors and aliases (the yaml library
 * limits alias expansion, js-yaml does not), tags, several documents, anything js-yaml refuses (duplicate
 * keys among them), and a document that is not a mapping.
 */
import { FAILSAFE_SCHEMA, load, Type, types } from "js-yaml";

declare module "js-yaml" {
  /** Exported by js-yaml 4 (index.js), not declared by @types/js-yaml 4.0.9. */
  export const types: { merge: Type };
}

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type PlainValue = Value;

/** Values read before, kept elsewhere by text (spec-cache.ts): `get` answers only for that very text. */
export interface PlainValueStore {
  get(text: string): Value | undefined;
  set(text: string, value: Value): void;
}

// The YAML 1.2.2 core schema's tag resolution (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
const scalar = (tag: string, pattern: RegExp, construct: (text: string) => unknown) =>
  new Type(`tag:yaml.org,2002:${tag}`, {
    kind: "scalar",
    resolve: (text: string | null) => pattern.test(text ?? ""),
    construct: (text: string | null) => construct(text ?? ""),
  });

const CORE_1_2 = FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar("null", /^(?:~|null|Null|NULL|)$/, () => null),
    scalar("bool", /^(?:true|True|TRUE|false|False|FALSE)$/, (t) => /^t/i.test(t)),
    scalar("int", /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (t) =>
      t.startsWith("0o") ? parseInt(t.slice(2), 8) : Number(t),
    ),
    scalar(
      "float",
      /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
      (t) =>
        /nan$/i.test(t) ? NaN : /inf$/i.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t),
    ),
    types.merge,
  ],
});

/**
 * An anchor, alias or tag where a node may start, an explicit key (`? `), a directive, a document marker,
 * a comment glued to the end of a flow collection or quoted scalar (an error for the yaml library), and
 * keys the two libraries turn into different strings: a null key (`""` in yaml, `"null"` in js-yaml) and a
 * flow collection as a key; a carriage return without a line feed (a line break for js-yaml, a character
 * of the scalar for the yaml library).
 */
const LEFT_TO_THE_YAML_LIBRARY = new RegExp(
  [
    /(?:^|[\s[{,])[&*!]/,
    /(?:^|[\s[{,-])\?(?:\s|$)/,
    /^%|^(?:---|\.\.\.)(?:\s|$)/,
    /[\]}"']#/,
    /(?:^|[\s{,])(?:~|null|Null|NULL)[ ]*:(?:\s|$)/,
    /[\]}][ ]*:(?:\s|$)/,
    /\r(?!\n)/,
  ]
    .map((r) => r.source)
    .join("|"),
  "m",
);

/**
 * Where js-yaml is more lenient than the yaml library (found by the differential test): a flow collection
 * or quoted scalar spanning lines, whose continuation lines the yaml library checks for indentation, and
 * an empty key after a comma in a flow collection. A line whose brackets or quotes do not pair up before
 * its comment is left to the yaml library; a false alarm (an escaped quote, an apostrophe in a plain
 * scalar) costs only time.
 */
function spansLines(text: string): boolean {
  return /,[ ]*:/.test(text) || text.split("\n").some((line) => !pairsUp(line));
}

function pairsUp(line: string): boolean {
  let quote = "";
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "#" && (i === 0 || line[i - 1] === " ")) break;
    else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
  }
  return quote === "" && depth === 0;
}

/**
 * The texts read last, and their values: a command reads the same spec text more than once (loading it,
 * then checking an edit of it, then loading the edit), and each read of 10,000 clusters costs about
 * 0.1 s. The values are frozen, as every reader shares them.
 */
const recent = new Map<string, Value | undefined>();
const RECENT_TEXTS = 2;

/** The single document's value, or undefined when the yaml library must read the text. */
export function readPlainYaml(text: string): Value | undefined {
  return read(text);
}

/**
 * readPlainYaml for the spec, which a command reads more than once: shared, so frozen. With `store`, a
 * value it holds for the text is used as is, and a value read is handed to it.
 */
export function readPlainYamlShared(text: string, store?: PlainValueStore): Value | undefined {
  if (recent.has(text)) return recent.get(text);
  const stored = store?.get(text);
  const value = stored ?? read(text);
  if (stored === undefined && value !== undefined) store?.set(text, value);
  remember(text, value);
  return value;
}

/**
 * Records what `text` reads as, for a caller that proved it without reading all of it (a spec edit
 * re-reads only the lines it changed: edit.ts); the next readPlainYamlShared(text) answers it.
 */
export function rememberPlainYamlShared(text: string, value: Value): void {
  remember(text, value);
}

function remember(text: string, value: Value | undefined): void {
  recent.delete(text);
  recent.set(text, value === undefined ? undefined : deepFreeze(value));
  if (recent.size > RECENT_TEXTS) recent.delete(recent.keys().next().value as string);
}

function deepFreeze(value: Value): Value {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value))
    for (const child of Object.values(Object.freeze(value))) deepFreeze(child);
  return value;
}

function read(text: string): Value | undefined {
  if (LEFT_TO_THE_YAML_LIBRARY.test(text) || spansLines(text)) return undefined;
  let value: unknown;
  try {
    value = load(text, { schema: CORE_1_2 });
  } catch {
    return undefined;
  }
  return isMapping(value) ? (value as Value) : undefined;
}

function isMapping(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
