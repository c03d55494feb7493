/**
 * JSON pointers (`/clusters/1/retention`, as ajv reports them) into the parsed YAML document: the one walker
 * that finds a node, its line and column, and the path users read (`clusters[1].retention`). It follows
 * aliases and `<<` merge keys, so a problem is reported where the value is written.
 */
import type { Document, LineCounter, Node } from "yaml";
import { yamlLibrary as yaml } from "../util/yaml-library.js";
import type { Problem } from "../util/errors.js";

/** The parsed spec a problem is reported against. */
export interface SpecSource {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** Everything of a Problem but its message and fix. */
export type Location = Omit<Problem, "message" | "fix">;

/** Location of the node at `pointer`, or of the key `key` inside it (then the path ends with that key). */
export type Locator = (pointer: string, key?: string) => Location;

export function locatorFor(source: SpecSource): Locator {
  return (pointer, key) => {
    const base = pointerToPath(pointer);
    const path = key === undefined ? base : base ? `${base}.${key}` : key;
    return { file: source.file, path, ...locate(source, pointer, key) };
  };
}

export function pointerSegments(pointer: string): string[] {
  return pointer === "" ? [] : pointer.split("/").slice(1).map(unescapeSegment);
}

/** Builds a JSON pointer from raw segments, escaping `~` and `/` inside them. */
export function pointerOf(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** Turns a JSON pointer (`/clusters/1/retention`) into the path users read (`clusters[1].retention`). */
export function pointerToPath(pointer: string): string {
  return pointerSegments(pointer).reduce(
    (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    "",
  );
}

function unescapeSegment(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Line and column (1-based) of the node at a JSON pointer, or of the key `key` inside it. */
export function locate(
  { doc, lines }: SpecSource,
  pointer: string,
  key?: string,
): { line?: number; column?: number } {
  let node = nodeAt(doc, pointer);
  if (key !== undefined) node = keyNode(doc, node, key) ?? node;
  const offset = (node as Node | null)?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** The plain value at a JSON pointer (aliases and merges resolved). */
export function valueAt(doc: Document, pointer: string): unknown {
  const node = nodeAt(doc, pointer);
  return yaml().isScalar(node) ? node.value : (node as { toJSON?: () => unknown } | undefined)?.toJSON?.();
}

/** The deepest node on the way to `pointer`: the node itself when every segment exists. */
function nodeAt(doc: Document, pointer: string): unknown {
  let node: unknown = resolved(doc, doc.contents);
  for (const segment of pointerSegments(pointer)) {
    const next = child(doc, node, segment);
    if (next === undefined) break;
    node = next;
  }
  return node;
}

function child(doc: Document, node: unknown, segment: string): unknown {
  if (yaml().isSeq(node)) return resolved(doc, node.get(Number(segment), true));
  if (!yaml().isMap(node)) return undefined;
  const pair = ownPair(doc, node, segment);
  return pair ? resolved(doc, pair.value) : undefined;
}

function keyNode(doc: Document, node: unknown, key: string): unknown {
  return yaml().isMap(node) ? ownPair(doc, node, key)?.key : undefined;
}

type Pair = { key: unknown; value: unknown };

/** The pair for `key`: written in the map, else from its `<<` sources, the first source winning. */
function ownPair(doc: Document, map: { items: Pair[] }, key: string): Pair | undefined {
  const explicit = map.items.find((p) => yaml().isScalar(p.key) && p.key.value === key);
  if (explicit) return explicit;
  for (const source of mergeSources(doc, map)) {
    const merged = ownPair(doc, source, key);
    if (merged) return merged;
  }
  return undefined;
}

function mergeSources(doc: Document, map: { items: Pair[] }): { items: Pair[] }[] {
  const sources = map.items.filter((p) => isMergeKey(p.key)).map((p) => resolved(doc, p.value));
  return sources
    .flatMap((s) => (yaml().isSeq(s) ? s.items.map((i) => resolved(doc, i)) : [s]))
    .filter((s): s is { items: Pair[] } => yaml().isMap(s));
}

function isMergeKey(key: unknown): boolean {
  if (!yaml().isScalar(key)) return false;
  const value = key.value;
  return value === "<<" || (typeof value === "symbol" && value.description === "<<");
}

function resolved(doc: Document, node: unknown): unknown {
  return yaml().isAlias(node) ? node.resolve(doc) : node;
}
