/**
 * Setting a cluster's credential fields in the spec text, at the lines that hold them: a block mapping
 * (`credential:` and one line per field), a one-line flow mapping (`credential: { passwordHash: "…" }`),
 * or no credential yet (one is added at the end of the entry). Anything else answers undefined and the
 * caller edits through the yaml library's document; the caller also checks the result's data (edit.ts).
 */
import { stringify } from "yaml";
import { linesFrom, type ClusterBlock, type EntrySpan, type Line } from "./spec-text.js";

/** Field -> new value, in the order they are set; null removes the field. */
export type CredentialFields = Record<string, string | number | null>;

const FIELD = /^([A-Za-z_][A-Za-z0-9_]*):[ ]+("[^"\\]*"|'[^']*'|[A-Za-z0-9$./_+=-]+)$/;
const BLOCK_KEY = /^credential:[ ]*(?:#.*)?$/;
const FLOW_KEY = /^credential:[ ]*\{(.*)\}[ ]*$/;

/** The text with the entry's credential fields set, or undefined when its layout is not one of the above. */
export function setCredentialText(
  text: string,
  block: ClusterBlock,
  index: number,
  fields: CredentialFields,
): string | undefined {
  const entry = block.entries[index];
  if (!entry) return undefined;
  const lines = entryLines(text, block, entry);
  const at = lines.findIndex((l) => /^credential:(?: |$)/.test(keyText(l, entry) ?? ""));
  const line = lines[at];
  if (!line) return addCredential(text, block, entry, fields);
  const key = keyText(line, entry) as string;
  const keyStart = line.start + (line.start === entry.start ? entry.keyIndent : line.indent);
  if (FLOW_KEY.test(key)) return setFlowFields(text, line, keyStart, key, block.eol, fields);
  if (BLOCK_KEY.test(key))
    return setBlockFields(text, lines.slice(at + 1), keyStart - line.start, block.eol, fields);
  return undefined;
}

function entryLines(text: string, block: ClusterBlock, entry: EntrySpan): Line[] {
  const lines: Line[] = [];
  for (const line of linesFrom(text, entry.start, block.eol)) {
    if (line.start >= entry.end) break;
    lines.push(line);
  }
  return lines;
}

/** A line's text from the entry's key column, when a key of the entry itself can start there. */
function keyText(line: Line, entry: EntrySpan): string | undefined {
  if (line.start === entry.start) return line.rest.slice(entry.keyIndent - line.indent);
  return line.indent === entry.keyIndent ? line.rest : undefined;
}

/** No credential yet: a block mapping of the fields set, after the entry's last line. */
function addCredential(text: string, block: ClusterBlock, entry: EntrySpan, fields: CredentialFields) {
  const set = Object.entries(fields).filter((f): f is [string, string | number] => f[1] !== null);
  if (set.length === 0) return text;
  const pad = " ".repeat(entry.keyIndent);
  const { eol } = block;
  const lines = [`${pad}credential:`, ...set.map(([k, v]) => `${pad}  ${k}: ${blockScalar(v)}`)];
  const before = text.slice(0, entry.end);
  // at the end of a file without a final line break, the new lines go after one and end without one
  if (!before.endsWith(eol)) return before + eol + lines.join(eol) + text.slice(entry.end);
  return before + lines.join(eol) + eol + text.slice(entry.end);
}

/** `credential:` followed by one `field: scalar` line per field, all at one indentation. */
function setBlockFields(
  text: string,
  after: Line[],
  keyIndent: number,
  eol: string,
  fields: CredentialFields,
): string | undefined {
  const end = after.findIndex((l) => l.rest !== "" && !l.rest.startsWith("#") && l.indent <= keyIndent);
  const children = end === -1 ? after : after.slice(0, end);
  const first = children[0];
  const indent = first?.indent ?? -1;
  if (!first || children.some((l) => l.indent !== indent || !FIELD.test(l.rest))) return undefined;
  const pad = " ".repeat(indent);
  const edited = editPairs(
    children.map((l) => l.rest),
    fields,
    blockScalar,
  );
  const last = children.at(-1) as Line;
  const body = [...edited.values()].map((rest) => pad + rest + eol).join("");
  const tail = text.slice(0, last.next).endsWith(eol) ? "" : eol;
  return text.slice(0, first.start) + body.slice(0, body.length - tail.length) + text.slice(last.next);
}

/** `credential: { field: scalar, … }` on one line: the pairs are edited in place, new ones appended. */
function setFlowFields(
  text: string,
  line: Line,
  keyStart: number,
  key: string,
  eol: string,
  fields: CredentialFields,
): string | undefined {
  const inner = (FLOW_KEY.exec(key) as RegExpExecArray)[1] as string;
  const pairs = inner.trim() === "" ? [] : inner.split(",").map((p) => p.trim());
  if (pairs.some((p) => !FIELD.test(p))) return undefined;
  const edited = editPairs(pairs, fields, (v) => (typeof v === "number" ? String(v) : JSON.stringify(v)));
  const pad = edited.size > 0 && inner.startsWith(" ") ? " " : "";
  const flow = `credential: {${pad}${[...edited.values()].join(", ")}${pad}}`;
  const contentEnd = line.next - (text.slice(line.start, line.next).endsWith(eol) ? eol.length : 0);
  return text.slice(0, keyStart) + flow + text.slice(contentEnd);
}

/**
 * `field: value` pairs (text) with the fields set: in place, in the quotes the old value had (as the
 * yaml library's document keeps a scalar's style), new ones last in `style`; null removes a field.
 */
function editPairs(
  pairs: string[],
  fields: CredentialFields,
  style: (value: string | number) => string,
): Map<string, string> {
  const edited = new Map(pairs.map((p) => [(FIELD.exec(p) as RegExpExecArray)[1] as string, p]));
  for (const [field, value] of Object.entries(fields)) {
    const old = edited.get(field);
    if (value === null) edited.delete(field);
    else edited.set(field, `${field}: ${old === undefined ? style(value) : restyled(value, old, style)}`);
  }
  return edited;
}

function restyled(
  value: string | number,
  oldPair: string,
  style: (value: string | number) => string,
): string {
  const quote = (FIELD.exec(oldPair) as RegExpExecArray)[2]?.[0];
  if (typeof value === "number") return String(value);
  if (quote === '"') return JSON.stringify(value);
  if (quote === "'") return `'${value.replace(/'/g, "''")}'`;
  return style(value);
}

/** A scalar as the yaml library writes it in block context (plain when that reads back the same). */
function blockScalar(value: string | number): string {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}
