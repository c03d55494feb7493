import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap, type YAMLSeq } from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { DNS1123_LABEL, PATTERN_FIXES } from "./schema.js";
import type { Role } from "./spec.js";

export interface NewCluster {
  name: string;
  role: Role;
  overlays: string[];
  /** Dotted path -> value, from --set key=value. */
  values: Record<string, unknown>;
  passwordHash?: string;
}

/**
 * The fleet spec being edited. Every edit is made with the yaml Document API, and written by splicing
 * the changed entry into the file's own text, so that every other byte (comments, blank lines, quoting,
 * indentation, line endings) stays as it was. The splice is checked against the Document API's result;
 * when a file's layout defeats it (a flow-style `clusters: [...]`), the Document API writes the file and
 * `normalised` says that its formatting changed.
 */
export class SpecEdit {
  private text: string;
  /** True when the yaml library rewrote the file (its formatting may have changed beyond the edit). */
  normalised = false;

  constructor(readonly original: string) {
    this.text = original;
  }

  toString(): string {
    return this.text;
  }

  /** Names of the clusters in the spec as edited so far, in file order. */
  names(): string[] {
    return clustersOf(parseDocument(this.text)).items.flatMap((c) =>
      isMap(c) ? [String(c.get("name"))] : [],
    );
  }

  has(name: string): boolean {
    return this.names().includes(name);
  }

  /** Appends the cluster to `clusters`. */
  add(c: NewCluster): void {
    const expected = parseDocument(this.text);
    clustersOf(expected).add(expected.createNode(entryOf(c)) as YAMLMap);
    this.apply(expected, (doc) => insertAfterLastItem(this.text, clustersOf(doc), entryOf(c)));
  }

  /** Removes the cluster's entry, with the comment lines just above it. */
  remove(name: string): void {
    const expected = parseDocument(this.text);
    const clusters = clustersOf(expected);
    const index = indexOf(clusters, name);
    if (index < 0) return;
    clusters.delete(index);
    this.apply(expected, (doc) => removeItem(this.text, clustersOf(doc), index));
  }

  private apply(expected: Document, splice: (doc: Document) => string | undefined): void {
    const spliced = splice(parseDocument(this.text));
    const check = spliced === undefined ? undefined : parseDocument(spliced);
    if (check && check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected.toJS())) {
      this.text = spliced as string;
      return;
    }
    this.text = expected.toString({ lineWidth: 0 });
    this.normalised = true;
  }
}

function entryOf(c: NewCluster): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: c.name, role: c.role };
  if (c.overlays.length > 0) entry.overlays = c.overlays;
  if (Object.keys(c.values).length > 0) entry.values = c.values;
  if (c.passwordHash) entry.credential = { passwordHash: c.passwordHash };
  return entry;
}

function clustersOf(doc: Document): YAMLSeq {
  const clusters = doc.get("clusters", true);
  if (!isSeq(clusters))
    throw new PromfleetError("the fleet spec has no clusters list", ExitCode.badInput, [
      { file: "fleet.yaml", path: "clusters", message: "missing or not a list", fix: "add clusters: [...]" },
    ]);
  return clusters;
}

function indexOf(clusters: YAMLSeq, name: string): number {
  return clusters.items.findIndex((c) => isMap(c) && c.get("name") === name);
}

/** Where a block sequence item's line starts, and the columns of its `-` and of its first key. */
interface ItemLayout {
  lineStart: number;
  dash: number;
  body: number;
  /** Offset just past the item's last line, including comment lines indented under it. */
  end: number;
}

function layoutOf(text: string, seq: YAMLSeq, index: number): ItemLayout | undefined {
  const item = seq.items[index] as Node | undefined;
  if (seq.flow || !item?.range) return undefined;
  const lineStart = text.lastIndexOf("\n", item.range[0] - 1) + 1;
  const prefix = /^( *)-( +)$/.exec(text.slice(lineStart, item.range[0]));
  if (!prefix) return undefined;
  const dash = (prefix[1] as string).length;
  let end = lineEnd(text, Math.max(item.range[1] - 1, lineStart));
  for (let next = end; next < text.length; next = lineEnd(text, next)) {
    const line = text.slice(next, lineEnd(text, next));
    if (!/^ *#/.test(line) || line.search(/\S/) <= dash) break;
    end = lineEnd(text, next);
  }
  return { lineStart, dash, body: dash + 1 + (prefix[2] as string).length, end };
}

/** Offset just past the newline of the line holding `at` (or the end of the text). */
function lineEnd(text: string, at: number): number {
  const nl = text.indexOf("\n", at);
  return nl < 0 ? text.length : nl + 1;
}

function insertAfterLastItem(text: string, seq: YAMLSeq, entry: Record<string, unknown>): string | undefined {
  const last = layoutOf(text, seq, seq.items.length - 1);
  if (!last) return undefined;
  const previous = seq.items.length > 1 ? layoutOf(text, seq, seq.items.length - 2) : undefined;
  const spaced = previous !== undefined && /\n[ \t]*\r?\n/.test(text.slice(previous.end - 1, last.lineStart));
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const before = text.slice(0, last.end);
  const block = itemText(entry, last.dash, last.body - last.dash);
  const joined = `${before.endsWith("\n") || before === "" ? "" : eol}${spaced ? eol : ""}${block.replace(/\n/g, eol)}`;
  return before + joined + text.slice(last.end);
}

/** The entry as a block sequence item, its `-` at column `dash`, its keys `step` columns further in. */
function itemText(entry: Record<string, unknown>, dash: number, step: number): string {
  const lines = new Document([entry]).toString({ indent: 2, lineWidth: 0 }).trimEnd().split("\n");
  const pad = " ".repeat(dash);
  return (
    lines
      .map((line, i) =>
        i === 0
          ? `${pad}-${" ".repeat(step - 1)}${line.slice(2)}`
          : `${pad}${" ".repeat(step)}${line.slice(2)}`,
      )
      .join("\n") + "\n"
  );
}

function removeItem(text: string, seq: YAMLSeq, index: number): string | undefined {
  const item = layoutOf(text, seq, index);
  if (!item) return undefined;
  let start = leadingComments(text, item.lineStart, item.dash);
  const next = index + 1 < seq.items.length ? layoutOf(text, seq, index + 1) : undefined;
  if (index + 1 < seq.items.length && !next) return undefined;
  const end = next ? leadingComments(text, next.lineStart, next.dash) : item.end;
  // The last item takes the blank lines that separated it from the one before.
  if (!next)
    while (start > 0 && /^[ \t]*\r?\n$/.test(text.slice(text.lastIndexOf("\n", start - 2) + 1, start)))
      start = text.lastIndexOf("\n", start - 2) + 1;
  return text.slice(0, start) + text.slice(end);
}

/** Start of the comment lines directly above `lineStart` at the item's own indentation (its `-`). */
function leadingComments(text: string, lineStart: number, dash: number): number {
  let start = lineStart;
  while (start > 0) {
    const prev = text.lastIndexOf("\n", start - 2) + 1;
    const line = text.slice(prev, start);
    if (!/^ *#/.test(line) || line.search(/\S/) !== dash) break;
    start = prev;
  }
  return start;
}

/** The lines an edit changed, as `- old` / `+ new` with their line numbers: what --dry-run shows. */
export function changedLines(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const removed = a.slice(head, a.length - tail);
  const added = b.slice(head, b.length - tail);
  if (removed.length + added.length === 0) return [];
  return [
    `@@ line ${head + 1}: -${removed.length} +${added.length}`,
    ...removed.map((l) => `- ${l}`),
    ...added.map((l) => `+ ${l}`),
  ];
}

/** A cluster name given on the command line, checked before anything else happens. */
export function checkClusterName(name: string, where = "<name>"): void {
  if (new RegExp(DNS1123_LABEL).test(name) && name.length <= 63) return;
  throw new PromfleetError(
    `${JSON.stringify(name)} is not a valid cluster name; nothing was written`,
    ExitCode.badInput,
    [
      {
        file: "command line",
        path: where,
        message: `${JSON.stringify(name)} is not allowed`,
        fix: PATTERN_FIXES[DNS1123_LABEL],
      },
    ],
  );
}

/**
 * A change must not both add and remove clusters: that is a rename in disguise, and an offboard hidden in
 * an onboarding pull request deletes a cluster's monitoring without anyone reviewing it as such.
 */
export function checkNotRename(reference: string[], after: string[], file: string): void {
  const added = after.filter((n) => !reference.includes(n));
  const removed = reference.filter((n) => !after.includes(n));
  if (added.length === 0 || removed.length === 0) return;
  throw new PromfleetError(
    `this change would add ${added.join(", ")} and remove ${removed.join(", ")} at once; nothing was written`,
    ExitCode.badInput,
    [
      {
        file,
        path: "clusters",
        message: "adding and removing clusters in one change looks like a rename, and hides an offboard",
        fix:
          `commit or discard the pending change first. To rename, onboard the new name, confirm it receives ` +
          `(promfleet verify --cluster <new>), then offboard the old one, each in its own pull request`,
      },
    ],
  );
}

/** `--set key=value`: the value is read as one YAML scalar (3 is a number, "3" a string), never spliced as text. */
export function parseSetFlags(flags: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const key = flag.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key))
      throw setError(flag, "expected key=value with a dotted key", "e.g. --set prometheus.pvc.storage=2Gi");
    if (key in values) throw setError(flag, `${key} is set twice`, "give each key once");
    values[key] = scalarOf(flag, flag.slice(eq + 1));
  }
  return values;
}

function scalarOf(flag: string, text: string): unknown {
  if (text === "") return "";
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw setError(
      flag,
      `the value is not valid YAML (${doc.errors[0]?.message.split("\n")[0]})`,
      "quote it",
    );
  if (!isScalar(doc.contents))
    throw setError(
      flag,
      "the value is not a single scalar (a string, number, boolean or null)",
      "set lists and maps in an overlay (--overlay), or quote the value to keep it a string",
    );
  return doc.contents.toJS(doc);
}

function setError(flag: string, message: string, fix: string): PromfleetError {
  return new PromfleetError(`--set ${flag}: ${message}; nothing was written`, ExitCode.badInput, [
    { file: "command line", path: "--set", message, fix },
  ]);
}
