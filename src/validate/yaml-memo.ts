/**
 * yaml's `parse` and `parseAllDocuments` for files that many clusters share most of, each part parsed once.
 */
import { parse, parseAllDocuments } from "yaml";

/** A top-level entry `key:` at column 0 with a plain key (the form rendered files use). */
const KEY_LINE = /^[A-Za-z0-9_$][\w./$-]*:(?: |\n|$)/;
/** Lines that continue the entry above: indented, blank, a comment, a compact sequence item. */
const CONTINUATION = /^(?:\s|$|#|- |-\n|-$)/;
/** A `key:` line alone (a key that is a string in YAML 1.2), whose value may be a mapping below it. */
const PARENT_LINE = /^([A-Za-z_][\w-]*):\n$/;
/** `key: |`: a literal block scalar, clipped (one line break kept at its end). */
const LITERAL_LINE = /^([A-Za-z_][\w-]*): \|\n$/;
/** How deep entries are split: the levels where rendered files differ between clusters. */
const MAX_DEPTH = 4;
/** Blank or only a comment. */
const NOTHING = /^\s*(?:#.*)?\n?$/;
/**
 * An anchor or alias, which can tie one entry's value to another's (or a false alarm, which only costs
 * time); a carriage return, which a split at line feeds would leave at an entry's end.
 */
const NOT_SPLIT = /(?:^|[\s[\]{},:])[&*]|\r/;

/** Entries kept before the memo starts afresh: memory stays bounded however large the fleet. */
const CAPACITY = 4096;

/**
 * Parsing YAML is most of `validate`'s and `diff`'s own CPU time on large fleets, and the files they
 * read differ from cluster to cluster in a few entries (a Prometheus config's `global` and `remote_write`
 * name the cluster; its `scrape_configs` are shared). A block mapping is therefore parsed one top-level
 * entry at a time, and an entry whose text was parsed before is not parsed again; a stream of documents
 * is split at its `---` lines first. Whenever a split could give another value than yaml gives for the
 * whole text (an anchor or alias, a directive, a line at column 0 that is neither a plain `key:` nor a
 * comment or sequence item, a key twice, an entry yaml rejects or that is not one `key: value`), the
 * whole text is parsed as it is, so every value, error and message is yaml's own (a test compares both
 * on every rendered file). Values are shared by every caller that parsed the same entry: they are frozen.
 */
export class YamlMemo {
  /** Entry text -> its `{ key: value }`, or undefined when the text must be parsed whole. */
  private readonly entries = new Map<string, Readonly<Record<string, unknown>> | undefined>();

  /** The value `parse(text)` returns (it throws what `parse` throws). */
  parse(text: string): unknown {
    return (splittable(text) && this.mapping(text)) || parse(text);
  }

  /**
   * The documents' values as `parseAllDocuments(text)` gives them (`toJS()` of each, null for an empty
   * one), or yaml's error messages when any document has errors.
   */
  documents(text: string): { values: unknown[]; errors: string[] } {
    const values = this.splitDocuments(text);
    if (values) return { values, errors: [] };
    const docs = parseAllDocuments(text);
    const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
    return { values: errors.length > 0 ? [] : docs.map((d) => d.toJS() as unknown), errors };
  }

  /** Each document parsed on its own; undefined when that may differ from yaml's reading of the stream. */
  private splitDocuments(text: string): unknown[] | undefined {
    if (!splittable(text)) return undefined;
    const lines = linesOf(text);
    const separator = (l: string) => l === "---\n" || l === "---";
    if (lines.some((l) => /^(?:%|\.\.\.|---)/.test(l) && !separator(l))) return undefined;
    const pieces: string[][] = [[]];
    for (const line of lines) {
      if (separator(line)) pieces.push([]);
      else (pieces[pieces.length - 1] as string[]).push(line);
    }
    const values: unknown[] = [];
    for (const [i, piece] of pieces.entries()) {
      const empty = piece.every((l) => NOTHING.test(l));
      // yaml makes no document of what precedes the first `---` when that is only comments
      if (empty) {
        if (i > 0) values.push(null);
        continue;
      }
      const value = this.mapping(piece.join(""));
      if (value === undefined) return undefined;
      values.push(value);
    }
    return values;
  }

  /**
   * The mapping parsed entry by entry; undefined when the text has to be parsed whole. The text is
   * `splittable` (checked once: the entries below are parts of it, only less indented).
   */
  private mapping(text: string, depth = 0): Record<string, unknown> | undefined {
    const entries = topLevelEntries(text);
    if (!entries) return undefined;
    const out: Record<string, unknown> = {};
    for (const entry of entries) {
      const parsed = this.entry(entry, depth);
      const key = parsed && (Object.keys(parsed)[0] as string);
      if (key === undefined || Object.hasOwn(out, key)) return undefined;
      out[key] = parsed?.[key];
    }
    return out;
  }

  /** An entry's `{ key: value }` (the same at any depth: `depth` only bounds the splitting). */
  private entry(text: string, depth: number): Readonly<Record<string, unknown>> | undefined {
    if (this.entries.has(text)) return this.entries.get(text);
    if (this.entries.size >= CAPACITY) this.entries.clear();
    const parsed = this.nested(text, depth) ?? literalEntry(text) ?? parseEntry(text);
    this.entries.set(text, parsed);
    return parsed;
  }

  /**
   * `key:` over a block mapping indented below it: that mapping, taken out of its indentation, split
   * into entries again (one cluster's `global:` differs from another's only in `external_labels`).
   */
  private nested(text: string, depth: number): Readonly<Record<string, unknown>> | undefined {
    const [head, ...body] = linesOf(text);
    const key = PARENT_LINE.exec(head ?? "")?.[1];
    if (depth >= MAX_DEPTH || !key || /^(?:null|true|false|__proto__)$/i.test(key)) return undefined;
    const indent = /^ */.exec(body.find((l) => !NOTHING.test(l)) ?? "")?.[0].length ?? 0;
    if (indent === 0) return undefined;
    const prefix = " ".repeat(indent);
    const dedented: string[] = [];
    for (const line of body) {
      if (line.startsWith(prefix)) dedented.push(line.slice(indent));
      // a line of fewer spaces is blank at either indentation; anything else less indented ends the value
      else if (/^ *\n?$/.test(line)) dedented.push(line.endsWith("\n") ? "\n" : "");
      else return undefined;
    }
    const value = this.mapping(dedented.join(""), depth + 1);
    return value && deepFreeze({ [key]: value });
  }
}

/** No anchor, alias or carriage return (a quick look first: most texts have none of & * \r at all). */
function splittable(text: string): boolean {
  const maybe = text.includes("&") || text.includes("*") || text.includes("\r");
  return !maybe || !NOT_SPLIT.test(text);
}

/** The texts of a block mapping's top-level entries; undefined unless the text is plainly one. */
function topLevelEntries(text: string): string[] | undefined {
  const entries: string[][] = [];
  for (const line of linesOf(text)) {
    if (KEY_LINE.test(line)) entries.push([line]);
    else if (CONTINUATION.test(line)) {
      // comments before the first entry say nothing; anything else there is not a block mapping
      const current = entries[entries.length - 1];
      if (current) current.push(line);
      else if (!NOTHING.test(line)) return undefined;
    } else return undefined;
  }
  return entries.length > 0 ? entries.map((e) => e.join("")) : undefined;
}

/** The lines of a text, each with its line feed: joined, any run of them is the exact text it was. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * `key: |` and its lines, read as YAML reads a literal block (the lines without their indentation, the
 * trailing empty lines dropped but for one line break) when plainly one: every line indented as the
 * first or empty, no line of spaces only, no unusual character, a line break at the end; else undefined.
 */
function literalEntry(text: string): Readonly<Record<string, string>> | undefined {
  const [head, ...body] = linesOf(text);
  const key = LITERAL_LINE.exec(head ?? "")?.[1];
  if (!key || /^(?:null|true|false|__proto__)$/i.test(key) || hasUnusual(text)) return undefined;
  const indent = /^ */.exec(body[0] ?? "")?.[0].length ?? 0;
  if (indent === 0 || (body[0] as string).trim() === "") return undefined;
  const prefix = " ".repeat(indent);
  if (!body.every((l) => l === "\n" || (l.startsWith(prefix) && l.trim() !== ""))) return undefined;
  let end = body.length;
  while (end > 0 && body[end - 1] === "\n") end--;
  if (!body[end - 1]?.endsWith("\n")) return undefined;
  const value = body
    .slice(0, end)
    .map((l) => (l === "\n" ? l : l.slice(indent)))
    .join("");
  return Object.freeze({ [key]: value });
}

/** Characters yaml may refuse or read specially: controls but tab and line feed, BOM, non-characters. */
function hasUnusual(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f) || c === 0xfeff || c >= 0xfffe)
      return true;
  }
  return false;
}

/** One entry's `{ key: value }`, frozen; undefined when yaml rejects it or it is not exactly one entry. */
function parseEntry(text: string): Readonly<Record<string, unknown>> | undefined {
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] === "__proto__") return undefined;
  return deepFreeze(parsed as Record<string, unknown>);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
