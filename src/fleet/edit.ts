/**
 * Edits to fleet.yaml's text that keep every other byte: append or remove a cluster entry, set credential
 * fields, --set values.
 *
 * Each edit first splices the text at the lines it means to change (spec-text.ts finds them without
 * parsing the document), then reads the result with the fast reader and accepts it only when its data is
 * exactly the old data plus the intended change (re-reading only the entries where the texts differ, when
 * that proves it: readsBackInWindow). An unusual text (a flow-style clusters list, anchors,
 * tabs, comments trailing an entry, ...) or a check that fails is edited through the yaml library's
 * document instead: the same answer, at about a second of CPU for 10,000 clusters.
 */
import { isDeepStrictEqual } from "node:util";
import {
  isCollection,
  isMap,
  isNode,
  isPair,
  isSeq,
  parse,
  parseDocument,
  stringify,
  type Document,
  type Node,
  type YAMLSeq,
} from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { readPlainYaml, readPlainYamlShared, rememberPlainYamlShared, type Value } from "./plain-yaml.js";
import { linesFrom, locateClusterBlock, type ClusterBlock, type EntrySpan } from "./spec-text.js";
import { setCredentialText, type CredentialFields } from "./spec-text-credential.js";
import type { Role } from "./spec.js";

export type { CredentialFields } from "./spec-text-credential.js";

export interface NewCluster {
  name: string;
  role: Role;
  overlays: string[];
  /** Dotted path -> value, from --set key=value. */
  values: Record<string, unknown>;
  /** SOPS: the cluster's own age public key (its credential is encrypted to it and the administrators'). */
  ageRecipient?: string;
  passwordHash?: string;
}

function entryOf(c: NewCluster): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: c.name, role: c.role };
  if (c.overlays.length > 0) entry.overlays = c.overlays;
  if (Object.keys(c.values).length > 0) entry.values = c.values;
  if (c.ageRecipient) entry.ageRecipient = c.ageRecipient;
  if (c.passwordHash) entry.credential = { passwordHash: c.passwordHash };
  return entry;
}

/**
 * The spec text with the cluster appended to `clusters`, every other byte as it was (flow lists,
 * comments, anchors, blank lines): the entry is spliced in after the last one, indented like it, with
 * a blank line before it when the entries are separated by one.
 */
export function appendClusterEntry(text: string, c: NewCluster): string {
  return textEdits.append(text, c) ?? appendViaDocument(text, c);
}

/**
 * The spec text without the cluster's entry, every other byte as it was: its lines, the comment lines
 * right above it, and one blank line separating it from its neighbours.
 */
export function removeClusterEntry(text: string, name: string): string {
  return textEdits.remove(text, name) ?? removeViaDocument(text, name);
}

/**
 * Sets clusters[name].credential's fields in order (null removes one), every other line as it was. A
 * PromfleetError (exit 2) when the spec has no such cluster.
 */
export function setCredentialFields(text: string, name: string, fields: CredentialFields): string {
  return textEdits.setCredential(text, name, fields) ?? setCredentialViaDocument(text, name, fields);
}

/** The line edits alone: undefined where the document path must answer (exported for the tests). */
export const textEdits = {
  append: (text: string, c: NewCluster) =>
    checkedEdit(
      text,
      (block) => appendText(text, block, c),
      (clusters) => [...clusters, entryOf(c)],
    ),
  remove: (text: string, name: string) =>
    checkedEdit(
      text,
      (block, index) => (index(name) < 0 ? text : removeText(text, block, index(name))),
      (clusters) => clusters.filter((c) => nameOf(c) !== name),
    ),
  setCredential: (text: string, name: string, fields: CredentialFields) =>
    checkedEdit(
      text,
      (block, index) => (index(name) < 0 ? undefined : setCredentialText(text, block, index(name), fields)),
      (clusters) => clusters.map((c) => (nameOf(c) === name ? withCredential(c, fields) : c)),
    ),
  checked: (...args: Parameters<typeof checkedEdit>) => checkedEdit(...args),
};

function withCredential(entry: unknown, fields: CredentialFields): unknown {
  const credential = { ...(entry as { credential?: Record<string, unknown> }).credential };
  for (const [key, value] of Object.entries(fields))
    if (value === null) delete credential[key];
    else credential[key] = value;
  return { ...(entry as Record<string, unknown>), credential };
}

/**
 * The text edit, when the text is plain enough to locate and its result reads back as the old data with
 * its clusters changed by `change` (undefined otherwise, and when `edit` declines). `edit` gets the
 * located entries and the index of a cluster by name (in the spec's data; -1 when absent).
 */
function checkedEdit(
  text: string,
  edit: (block: ClusterBlock, index: (name: string) => number) => string | undefined,
  change: (clusters: readonly unknown[]) => unknown[],
): string | undefined {
  const block = locateClusterBlock(text);
  const before = block && readPlainYamlShared(text);
  const clusters = (before as { clusters?: unknown } | undefined)?.clusters;
  if (!block || !Array.isArray(clusters) || clusters.length !== block.entries.length) return undefined;
  const after = edit(block, (name) => clusters.findIndex((c) => nameOf(c) === name));
  if (after === undefined) return undefined;
  const expected = { ...(before as Record<string, Value>), clusters: change(clusters) as Value[] };
  if (after !== text && readsBackInWindow(text, after, block, clusters, expected.clusters)) {
    // the edited spec's data is proven: the command's next read of it (loading the edit) costs nothing
    rememberPlainYamlShared(after, expected);
    return after;
  }
  return isDeepStrictEqual(readPlainYamlShared(after), expected) ? after : undefined;
}

/**
 * Whether `after` reads as `text`'s data with its cluster entries `newEntries`, proven by re-reading
 * only the entries where the two texts differ (at 10,000 clusters a full read costs ~0.1 s, this a
 * few milliseconds, mostly comparing the texts). The window runs from the dash line of the last entry starting before the first
 * changed byte to the first line after the last changed byte that closes an entry: a dash at the entries'
 * column, a line at column 0, or the end. Both ends are block-structure boundaries in both texts (the
 * bytes around them are unchanged), so the text outside the window reads as before, and the window,
 * read alone under a `clusters:` key, must give the old entries in `text` and the new ones in `after`.
 * False when it cannot prove it (the caller then reads all of `after`). Exported for the tests.
 */
export function readsBackInWindow(
  text: string,
  after: string,
  block: ClusterBlock,
  oldEntries: readonly unknown[],
  newEntries: readonly unknown[],
): boolean {
  const window = changedWindow(text, after, block);
  if (!window) return false;
  const { first, start, oldEnd, newEnd } = window;
  const oldCount = block.entries.filter((e, i) => i >= first && e.start < oldEnd).length;
  const newCount = oldCount + newEntries.length - oldEntries.length;
  const readWindow = (t: string, end: number) => readPlainYaml(`clusters:${block.eol}${t.slice(start, end)}`);
  return (
    newCount >= 0 &&
    isDeepStrictEqual(readWindow(text, oldEnd), { clusters: oldEntries.slice(first, first + oldCount) }) &&
    isDeepStrictEqual(readWindow(after, newEnd), { clusters: newEntries.slice(first, first + newCount) })
  );
}

/**
 * The window of readsBackInWindow: entry `first` starts it at `start` in both texts; it ends at
 * `oldEnd` in `text` and `newEnd` in `after`, where the texts' common ending starts or later.
 */
function changedWindow(
  text: string,
  after: string,
  block: ClusterBlock,
): { first: number; start: number; oldEnd: number; newEnd: number } | undefined {
  const prefix = commonPrefix(text, after);
  const suffix = commonSuffix(text, after, prefix);
  // the entry's indentation, dash and the space after it must be unchanged: that line still closes
  // whatever came before it
  const opens = (e: EntrySpan) => e.start + block.dashIndent + 2 <= prefix;
  let first = block.entries.length - 1;
  while (first >= 0 && !opens(block.entries[first] as EntrySpan)) first--;
  const newEnd = entryBoundary(after, after.length - suffix, block);
  if (first < 0 || newEnd === undefined) return undefined;
  const start = (block.entries[first] as EntrySpan).start;
  return { first, start, oldEnd: newEnd + text.length - after.length, newEnd };
}

/** Texts are compared a chunk at a time (a string comparison), then a character at a time. */
const CHUNK = 4096;

function commonPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i + CHUNK <= max && a.slice(i, i + CHUNK) === b.slice(i, i + CHUNK)) i += CHUNK;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The length of the common ending, not overlapping the common beginning. */
function commonSuffix(a: string, b: string, prefix: number): number {
  const max = Math.min(a.length, b.length) - prefix;
  const chunkAt = (s: string, i: number) => s.slice(s.length - i - CHUNK, s.length - i);
  let i = 0;
  while (i + CHUNK <= max && chunkAt(a, i) === chunkAt(b, i)) i += CHUNK;
  while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

/**
 * The first line starting at or after `from` that closes a cluster entry (a dash at the entries' column,
 * a line at column 0), or the end of the text; undefined on a line the window cannot reason about (less
 * indented than the dashes, but not at column 0).
 */
function entryBoundary(text: string, from: number, block: ClusterBlock): number | undefined {
  const lineStart =
    from === 0 || text[from - 1] === "\n" ? from : text.indexOf("\n", from) + 1 || text.length;
  for (const line of linesFrom(text, lineStart, block.eol)) {
    if (line.rest === "" || line.rest.startsWith("#") || line.indent > block.dashIndent) continue;
    if (line.indent === 0 && !line.rest.startsWith("-")) return line.start;
    return line.indent === block.dashIndent && /^-(?: |$)/.test(line.rest) ? line.start : undefined;
  }
  return text.length;
}

function nameOf(entry: unknown): unknown {
  return (entry as { name?: unknown } | null)?.name;
}

function appendText(text: string, block: ClusterBlock, c: NewCluster): string | undefined {
  const last = block.entries.at(-1);
  if (!last || last.trailingComments) return undefined;
  const { eol } = block;
  const indent = " ".repeat(block.dashIndent);
  const entry = entryLines(c)
    .map((l) => indent + l + eol)
    .join("");
  const before = text.slice(0, last.end);
  const spaced = text.slice(0, last.lead).endsWith(eol + eol);
  const newline = before.endsWith(eol) ? "" : eol;
  return before + newline + (spaced ? eol : "") + entry + text.slice(last.end);
}

/** The new entry's lines, as the yaml library writes a one-item sequence (no line folding). */
function entryLines(c: NewCluster): string[] {
  return stringify([entryOf(c)], { lineWidth: 0 })
    .trimEnd()
    .split("\n");
}

function removeText(text: string, block: ClusterBlock, index: number): string | undefined {
  const entry = block.entries[index];
  if (!entry || entry.trailingComments) return undefined;
  const { eol } = block;
  let start = entry.lead;
  let end = entry.end;
  if (text.slice(0, start).endsWith(eol + eol)) start -= eol.length;
  else if (text.startsWith(eol, end)) end += eol.length;
  return text.slice(0, start) + text.slice(end);
}

// ---------------------------------------------------------------------------------------------------------
// Through the yaml library's document: any text it reads, at the cost of parsing all of it.

function clustersOf(doc: Document): YAMLSeq {
  const clusters = doc.get("clusters", true);
  if (!isSeq(clusters)) throw new PromfleetError("the fleet spec has no clusters list", ExitCode.badInput);
  return clusters;
}

function clusterIndex(doc: Document, name: string): number {
  return clustersOf(doc).items.findIndex((c) => isMap(c) && c.get("name") === name);
}

/** appendClusterEntry through the document (exported for the differential test). */
export function appendViaDocument(text: string, c: NewCluster): string {
  const doc = parseDocument(text);
  const clusters = clustersOf(doc);
  const last = clusters.items.at(-1) as Node | undefined;
  if (clusters.flow || !clusters.range || !last?.range) {
    clusters.add(doc.createNode(entryOf(c)));
    return doc.toString();
  }
  const dash = clusters.range[0];
  const indent = " ".repeat(dash - lineStart(text, dash));
  const entry =
    entryLines(c)
      .map((l) => indent + l)
      .join("\n") + "\n";
  const at = lineEnd(text, last.range[2]);
  const spaced = text.slice(0, entryStart(text, last.range[0])).endsWith("\n\n");
  const before = text.slice(0, at);
  return before + (before.endsWith("\n") ? "" : "\n") + (spaced ? "\n" : "") + entry + text.slice(at);
}

/** removeClusterEntry through the document (exported for the differential test). */
export function removeViaDocument(text: string, name: string): string {
  const doc = parseDocument(text);
  const clusters = clustersOf(doc);
  const index = clusterIndex(doc, name);
  const item = clusters.items[index] as Node | undefined;
  if (!item) return text;
  if (clusters.flow || !item.range) {
    clusters.delete(index);
    return doc.toString();
  }
  let start = entryStart(text, item.range[0]);
  let end = lineEnd(text, lastValueEnd(item));
  if (text.slice(0, start).endsWith("\n\n")) start -= 1;
  else if (text[end] === "\n") end += 1;
  return text.slice(0, start) + text.slice(end);
}

/** setCredentialFields through the document (exported for the differential test). */
export function setCredentialViaDocument(text: string, name: string, fields: CredentialFields): string {
  const doc = parseDocument(text);
  const index = clusterIndex(doc, name);
  if (index < 0) throw new PromfleetError(`cluster ${name} is not in the fleet spec`, ExitCode.badInput);
  for (const [field, value] of Object.entries(fields))
    if (value === null) doc.deleteIn(["clusters", index, "credential", field]);
    else doc.setIn(["clusters", index, "credential", field], value);
  return doc.toString();
}

/**
 * Where a node's last value ends. A collection's own range runs on over the comments after it, into
 * the next entry's first line; its last value's does not.
 */
function lastValueEnd(node: Node): number {
  const last: unknown = isCollection(node) ? node.items.at(-1) : undefined;
  const value = isPair(last) ? last.value : last;
  if (isNode(value)) return lastValueEnd(value);
  return (node.range as [number, number, number])[1];
}

/** Where an entry's text starts: its first line, or the comment lines right above it. */
function entryStart(text: string, offset: number): number {
  let start = lineStart(text, offset);
  while (start > 0 && /^[ \t]*#/.test(text.slice(lineStart(text, start - 1), start)))
    start = lineStart(text, start - 1);
  return start;
}

/** Offset of the start of the line holding `offset`. */
function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just after the line holding `offset - 1` (the position itself when a line starts there). */
function lineEnd(text: string, offset: number): number {
  if (offset === 0 || text[offset - 1] === "\n") return offset;
  const newline = text.indexOf("\n", offset);
  return newline === -1 ? text.length : newline + 1;
}

/** `--set key=value`: the value is read as a YAML scalar (so 3 is a number, "3" a string), never spliced as text. */
export function parseSetFlags(flags: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const key = flag.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key))
      throw new PromfleetError(
        `--set ${flag}: expected key=value with a dotted key such as prometheus.pvc.storage=2Gi`,
        ExitCode.badInput,
      );
    values[key] = parse(flag.slice(eq + 1) || '""');
  }
  return values;
}
