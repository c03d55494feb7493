import { isMap, isSeq, LineCounter, type Document, type Node } from "yaml";

/** Turns a JSON pointer (`/clusters/1/retention`) into the path users read (`clusters[1].retention`). */
export function pointerToPath(pointer: string): string {
  const parts = pointer.split("/").slice(1).map(unescapePointer);
  return parts.reduce(
    (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    "",
  );
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Line and column (1-based) of the node at a JSON pointer, or of the key `key` inside it. */
export function locate(
  doc: Document,
  lines: LineCounter,
  pointer: string,
  key?: string,
): { line?: number; column?: number } {
  const segments = pointer.split("/").slice(1).map(unescapePointer);
  let node: unknown = doc.contents;
  for (const segment of segments) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
    if (pair?.key) node = pair.key;
  }
  const offset = (node as Node | null)?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function child(node: unknown, segment: string): unknown {
  if (isMap(node)) return node.get(segment, true);
  if (isSeq(node)) return node.get(Number(segment), true);
  return undefined;
}
