/**
 * A fast reader for the plain YAML most fleet specs are written in: block mappings and sequences, one-line
 * flow collections, plain and quoted one-line scalars, comments. The yaml library builds a full document
 * (nodes, ranges, comments) and needs several times longer than reading the values, which a fleet of
 * thousands of clusters pays on every command; the document is only needed to point at a problem.
 *
 * It gives exactly what the yaml library's `toJS()` gives (core schema, SPEC_YAML_OPTIONS), or undefined
 * for anything it does not read (anchors, aliases, merge keys, tags, block or multi-line scalars, escapes,
 * duplicate keys, a scalar that would not be a string, null, boolean or integer, odd indentation, syntax
 * errors): the caller then parses with the yaml library, which also reports the errors.
 */

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** Thrown inside the reader when the text leaves the subset; never escapes readPlainYaml. */
class Unsupported extends Error {}

const unsupported = (): never => {
  throw new Unsupported();
};

interface Line {
  indent: number;
  /** The line without its indentation (comment-only and blank lines are dropped). */
  text: string;
}

/** The single document's value when the whole text is in the subset; undefined otherwise. */
export function readPlainYaml(text: string): Value | undefined {
  if (hasSpecialCharacters(text)) return undefined;
  try {
    const lines = significantLines(text);
    if (lines.length === 0 || lines[0]?.indent !== 0) return undefined;
    const reader = new BlockReader(lines);
    const value = reader.block(0);
    return reader.done() && isMapping(value) ? value : undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

/** Tabs, carriage returns, control characters, other line breaks, a BOM, escapes: the library's. */
function hasSpecialCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x5c || c === 0x7f || c === 0x85) return true;
    if (c === 0x2028 || c === 0x2029 || c === 0xfeff) return true;
  }
  return false;
}

function isMapping(value: Value): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function significantLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.split("\n")) {
    const content = raw.trimStart();
    if (content === "" || content.startsWith("#")) continue;
    // document markers and directives: several documents, or a header the subset does not read
    if (/^(---|\.\.\.)(\s|$)/.test(raw) || raw.startsWith("%")) unsupported();
    lines.push({ indent: raw.length - content.length, text: content.trimEnd() });
  }
  return lines;
}

const SEQ_ITEM = /^-( |$)/;

class BlockReader {
  private at = 0;

  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.at === this.lines.length;
  }

  /** The block (mapping or sequence) whose first line is the next one, at `indent`. */
  block(indent: number): Value {
    const first = this.peek();
    if (!first || first.indent !== indent) return unsupported();
    return SEQ_ITEM.test(first.text) ? this.sequence(indent) : this.mapping(indent);
  }

  private peek(): Line | undefined {
    return this.lines[this.at];
  }

  private mapping(indent: number): Value {
    const map: { [key: string]: Value } = {};
    for (let line = this.peek(); line && line.indent === indent; line = this.peek()) {
      if (SEQ_ITEM.test(line.text)) unsupported();
      const { key, rest } = mappingKey(line.text);
      if (Object.prototype.hasOwnProperty.call(map, key)) unsupported();
      this.at++;
      map[key] = rest === "" ? this.nested(indent, true) : this.inline(rest, indent);
    }
    this.expectOutdent(indent);
    return map;
  }

  private sequence(indent: number): Value[] {
    const items: Value[] = [];
    for (
      let line = this.peek();
      line && line.indent === indent && SEQ_ITEM.test(line.text);
      line = this.peek()
    ) {
      const rest = line.text.slice(1).trimStart();
      if (rest === "" || rest.startsWith("#")) {
        this.at++;
        items.push(this.nested(indent, false));
      } else if (SEQ_ITEM.test(rest)) unsupported();
      else if (startsMappingEntry(rest)) {
        // `- key: value`: a mapping whose first line starts where `key` does; read the line as that
        this.lines[this.at] = { indent: indent + line.text.length - rest.length, text: rest };
        items.push(this.block(indent + line.text.length - rest.length));
      } else {
        this.at++;
        items.push(this.inline(rest, indent));
      }
    }
    this.expectOutdent(indent);
    return items;
  }

  /**
   * The value of a key or item with nothing after it on its line: a block below it, or null. A mapping's
   * value may also be a sequence at the mapping's own indentation.
   */
  private nested(indent: number, inMapping: boolean): Value {
    const next = this.peek();
    if (next && next.indent > indent) return this.block(next.indent);
    if (inMapping && next && next.indent === indent && SEQ_ITEM.test(next.text)) return this.sequence(indent);
    return null;
  }

  /** A value written on the key's or item's line; nothing may continue it on deeper lines. */
  private inline(text: string, indent: number): Value {
    const next = this.peek();
    if (next && next.indent > indent) unsupported();
    return inlineValue(text);
  }

  private expectOutdent(indent: number): void {
    const next = this.peek();
    if (next && next.indent > indent) unsupported();
  }
}

/** The key of a `key: value` line and what follows the `:` (comment removed, trimmed). */
function mappingKey(text: string): { key: string; rest: string } {
  if (text.startsWith('"') || text.startsWith("'")) {
    const { value, end } = quoted(text, 0);
    if (text[end] !== ":" || !/^( |$)/.test(text.slice(end + 1, end + 2))) unsupported();
    return { key: checkedKey(value), rest: valueText(text.slice(end + 1)) };
  }
  const colon = text.search(/:( |$)/);
  if (colon <= 0) unsupported();
  const key = text.slice(0, colon).trimEnd();
  return { key: checkedKey(plainString(key, false)), rest: valueText(text.slice(colon + 1)) };
}

/** What follows `key:`, trimmed; empty when only a comment follows. */
function valueText(text: string): string {
  const rest = text.trim();
  return rest.startsWith("#") ? "" : rest;
}

function startsMappingEntry(text: string): boolean {
  if (text.startsWith('"') || text.startsWith("'")) {
    const { end } = quoted(text, 0);
    return text[end] === ":";
  }
  const colon = text.search(/:( |$)/);
  const hash = text.search(/ #/);
  return colon > 0 && (hash === -1 || colon < hash) && !/^[[{]/.test(text);
}

/** Keys long enough for the yaml library to refuse, or with a meaning of their own, are not read here. */
function checkedKey(key: string): string {
  if (key.length > 1000 || key === "__proto__" || key === "<<") unsupported();
  return key;
}

/** A value on one line after `key:` or `- `, with its trailing comment. */
function inlineValue(text: string): Value {
  const first = text[0];
  if (first === '"' || first === "'") {
    const { value, end } = quoted(text, 0);
    expectLineEnd(text.slice(end));
    return value;
  }
  if (first === "[" || first === "{") {
    const flow = new FlowReader(text);
    const value = flow.value();
    expectLineEnd(text.slice(flow.at));
    return value;
  }
  const plain = withoutComment(text);
  if (/:( |$)/.test(plain)) unsupported();
  return plainScalar(plain, false);
}

/** After a quoted scalar or a flow collection: nothing, or a comment separated by a space. */
function expectLineEnd(rest: string): void {
  if (rest !== "" && !/^\s+(#|$)/.test(rest)) unsupported();
}

/** Text before a ` #` comment, trimmed; the text starts right after an indicator or a scalar. */
function withoutComment(text: string): string {
  const hash = text.search(/(^|\s)#/);
  return (hash === -1 ? text : text.slice(0, hash)).trim();
}

/** A one-line quoted scalar starting at `start`: its value and the index after its closing quote. */
function quoted(text: string, start: number): { value: string; end: number } {
  const quote = text[start];
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] !== quote) continue;
    if (quote === "'" && text[i + 1] === "'") {
      value += text.slice(start + 1, i + 1);
      start = i + 1;
      i++;
      continue;
    }
    return { value: value + text.slice(start + 1, i), end: i + 1 };
  }
  return unsupported();
}

/**
 * The core schema's scalars, as the yaml library resolves them; a scalar that would be a float, an
 * octal or hex number, or an integer beyond double precision is left to the library.
 */
function plainScalar(text: string, flow: boolean): Value {
  if (/^(?:~|[Nn]ull|NULL)?$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE)$/.test(text)) return true;
  if (/^(?:[Ff]alse|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) {
    // leading zeros, signs and -0 are left to the library; plain decimal integers are common enough
    const n = Number(text);
    return /^(0|-?[1-9][0-9]*)$/.test(text) && Number.isSafeInteger(n) ? n : unsupported();
  }
  return plainString(text, flow);
}

const NUMBER_LIKE =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|0o[0-7]+|0x[0-9a-fA-F]+)$/;

/** A plain scalar that the core schema reads as a string, or Unsupported. */
function plainString(text: string, flow: boolean): string {
  if (text === "" || NUMBER_LIKE.test(text) || /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(text))
    unsupported();
  // indicators that start something else than a plain scalar, or end it early
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(text) && !/^-[^\s,[\]{}]/.test(text)) unsupported();
  if (/\s#|:\s|:$|[[\]{}]/.test(text) || (flow && /[,:]/.test(text))) unsupported();
  return text;
}

/** One flow collection, `[a, b]` or `{ k: v }`, nested ones included, all on one line. */
class FlowReader {
  at = 0;

  constructor(private readonly text: string) {}

  value(): Value {
    this.skipSpaces();
    const c = this.text[this.at];
    if (c === "[") return this.collection("]", () => this.value());
    if (c === "{") {
      const map: { [key: string]: Value } = {};
      this.collection("}", () => {
        const key = this.key();
        if (Object.prototype.hasOwnProperty.call(map, key)) unsupported();
        map[key] = this.value();
        return null;
      });
      return map;
    }
    if (c === '"' || c === "'") {
      const { value, end } = quoted(this.text, this.at);
      this.at = end;
      return value;
    }
    const plain = this.plainText();
    return plain === "" ? unsupported() : plainScalar(plain, true);
  }

  /** Entries separated by commas up to `close`; a trailing or empty entry is left to the library. */
  private collection<T>(close: string, entry: () => T): T[] {
    this.at++;
    const entries: T[] = [];
    this.skipSpaces();
    if (this.text[this.at] === close) {
      this.at++;
      return entries;
    }
    for (;;) {
      entries.push(entry());
      this.skipSpaces();
      const c = this.text[this.at++];
      if (c === close) return entries;
      if (c !== ",") unsupported();
    }
  }

  private key(): string {
    this.skipSpaces();
    const c = this.text[this.at];
    let key: string;
    if (c === '"' || c === "'") {
      const q = quoted(this.text, this.at);
      this.at = q.end;
      key = q.value;
      this.skipSpaces();
    } else key = plainString(this.plainText(), true);
    if (this.text[this.at] !== ":" || !/^[ ]/.test(this.text.slice(this.at + 1, this.at + 2))) unsupported();
    this.at++;
    return checkedKey(key);
  }

  /** A plain scalar's text: up to `,`, a closing bracket, `: ` or a comment. */
  private plainText(): string {
    const rest = this.text.slice(this.at);
    const end = rest.search(/[,\]}]|:( |$)|\s#/);
    const text = (end === -1 ? rest : rest.slice(0, end)).trimEnd();
    this.at += end === -1 ? rest.length : end;
    return text;
  }

  private skipSpaces(): void {
    while (this.text[this.at] === " ") this.at++;
  }
}
