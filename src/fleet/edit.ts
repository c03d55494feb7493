/**
 * Edits to fleet.yaml's text that keep every other byte: append or remove a cluster entry, set credential
 * fields, --set values.
 */
import { isMap, isSeq, parse, parseDocument, stringify, type Document, type Node, type YAMLSeq } from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { Role } from "./spec.js";

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

function clustersOf(doc: Document): YAMLSeq {
  const clusters = doc.get("clusters", true);
  if (!isSeq(clusters)) throw new PromfleetError("the fleet spec has no clusters list", ExitCode.badInput);
  return clusters;
}

function clusterIndex(doc: Document, name: string): number {
  return clustersOf(doc).items.findIndex((c) => isMap(c) && c.get("name") === name);
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
  const doc = parseDocument(text);
  const clusters = clustersOf(doc);
  const last = clusters.items.at(-1) as Node | undefined;
  if (clusters.flow || !clusters.range || !last?.range) {
    clusters.add(doc.createNode(entryOf(c)));
    return doc.toString();
  }
  const dash = clusters.range[0];
  const indent = " ".repeat(dash - lineStart(text, dash));
  const lines = stringify([entryOf(c)], { lineWidth: 0 })
    .trimEnd()
    .split("\n");
  const entry = lines.map((l) => indent + l).join("\n") + "\n";
  const at = lineEnd(text, last.range[2]);
  const spaced = text.slice(0, entryStart(text, last.range[0])).endsWith("\n\n");
  const before = text.slice(0, at);
  return before + (before.endsWith("\n") ? "" : "\n") + (spaced ? "\n" : "") + entry + text.slice(at);
}

/**
 * The spec text without the cluster's entry, every other byte as it was: its lines, the comment lines
 * right above it, and one blank line separating it from its neighbours.
 */
export function removeClusterEntry(text: string, name: string): string {
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
  let end = lineEnd(text, item.range[2]);
  if (text.slice(0, start).endsWith("\n\n")) start -= 1;
  else if (text[end] === "\n") end += 1;
  return text.slice(0, start) + text.slice(end);
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

/** Sets (undefined: removes) clusters[name].credential.<field>, leaving every other line as it was. */
export function setCredentialField(
  doc: Document,
  name: string,
  field: string,
  value: string | number | undefined,
): void {
  const index = clusterIndex(doc, name);
  if (index < 0) throw new PromfleetError(`cluster ${name} is not in the fleet spec`, ExitCode.badInput);
  if (value === undefined) doc.deleteIn(["clusters", index, "credential", field]);
  else doc.setIn(["clusters", index, "credential", field], value);
}

/** Sets clusters[name].credential.passwordHash, leaving every other line of the file as it was. */
export function setPasswordHash(doc: Document, name: string, hash: string): void {
  const index = clusterIndex(doc, name);
  if (index < 0) throw new PromfleetError(`cluster ${name} is not in the fleet spec`, ExitCode.badInput);
  doc.setIn(["clusters", index, "credential", "passwordHash"], hash);
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
