/**
 * Two versions of a YAML mapping with the blocks they share cut out. After a fleet-wide change one line of
 * each cluster's values.yaml differs, yet parsing both sides in full was most of `diff`'s time. Here each
 * block mapping is split into its entries (a key line and the lines below it); an entry whose text is the
 * same on both sides becomes `key: <UNCHANGED>` on both, and an entry that differs is split in turn. The
 * cut texts read as the full texts would, with each shared subtree replaced by the same scalar on both
 * sides, which a comparison never reports (see PruneShape for what must not be cut).
 *
 * Cutting is only a shortcut: anything it cannot prove (anchors and tags, which tie blocks together, tabs,
 * dotted keys, which the dotted paths of a comparison could confuse, a line it cannot place) leaves the
 * entry as it is, or the caller compares the full texts. A shared entry is cut only once its own text
 * reads without error, so a text that fails to parse still fails.
 */
import { parseYaml } from "../validate/fast-yaml.js";

/** The scalar a shared entry's value becomes, on both sides. */
export const UNCHANGED = "promfleet-unchanged-block";

/** Where cutting must stop, by key path (keys joined with "."). */
export interface PruneShape {
  /** Values a comparison shows whole when they differ: shared parts below them are kept. */
  whole: ReadonlySet<string>;
  /** A literal block scalar (`key: |`) holding a YAML mapping, cut inside by `shape`. */
  embedded?: { path: string; shape: PruneShape };
}

/** A text's lines and their indentation (-1 for a blank line). */
interface Lines {
  lines: string[];
  depth: number[];
}

/** Lines [from, to) of a text. */
interface Range {
  from: number;
  to: number;
}

/** An entry of a block mapping: its lines, and its key when that is a plain word the cut can name. */
interface Entry extends Range {
  key: string | undefined;
}

type Pair = [string[], string[]];

/** Both texts with their shared entries cut, or undefined when the full texts must be compared. */
export function withoutSharedBlocks(
  before: string,
  after: string,
  shape: PruneShape,
): [string, string] | undefined {
  const [b, a] = [linesOf(before), linesOf(after)];
  if (!b || !a) return undefined;
  const cut = pruneMapping(b, whole(b), a, whole(a), 0, "", shape);
  // a cut entry holds no dotted key (readsAlone): the lines kept must hold none either
  if (!cut || cut.some((lines) => lines.some(mayHoldDottedKey))) return undefined;
  return [cut[0].join("\n"), cut[1].join("\n")];
}

const whole = (text: Lines): Range => ({ from: 0, to: text.lines.length });

/** The text's lines, or undefined when it has a tab or carriage return (indentation is counted in spaces). */
function linesOf(text: string): Lines | undefined {
  if (text.includes("\t") || text.includes("\r")) return undefined;
  const lines = text.split("\n");
  return { lines, depth: lines.map(indentation) };
}

function indentation(line: string): number {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  return i === line.length ? -1 : i;
}

/**
 * A comparison names a changed value by its keys joined with dots, so `a: {b.c: 1}` and `a.b: {c: 1}`
 * share a path: a cut could change which of them it shows. A dot before a line's first `: ` (unless in a
 * comment), or after a flow collection's start, counts (a false alarm costs only time).
 */
function mayHoldDottedKey(line: string): boolean {
  const depth = indentation(line);
  if (depth < 0 || line[depth] === "#") return false;
  const colon = line.indexOf(": ");
  const keyEnd = colon >= 0 ? colon : line.endsWith(":") ? line.length - 1 : -1;
  const dot = line.indexOf(".", depth);
  if (dot >= 0 && dot < keyEnd) return true;
  return dot >= 0 && /[[{]/.test(line) && /(?:^ *|[:-] +|[[{,] *)[[{].*\./.test(line);
}

/** A block mapping's entries at `indent` on both sides, shared entries cut. */
function pruneMapping(
  b: Lines,
  rangeB: Range,
  a: Lines,
  rangeA: Range,
  indent: number,
  path: string,
  shape: PruneShape,
): Pair | undefined {
  const [splitB, splitA] = [splitEntries(b, rangeB, indent), splitEntries(a, rangeA, indent)];
  if (!splitB || !splitA) return undefined;
  const [byKeyB, byKeyA] = [byKey(splitB.entries), byKey(splitA.entries)];
  const cut = new Map<string, Pair>();
  for (const [key, entryB] of byKeyB) {
    const entryA = byKeyA.get(key);
    const replaced = entryA && pruneEntry(b, entryB, a, entryA, indent, path ? `${path}.${key}` : key, shape);
    if (replaced) cut.set(key, replaced);
  }
  const side = (text: Lines, split: Split, i: 0 | 1) => {
    const lines = slice(text, split.head);
    for (const e of split.entries)
      lines.push(...((e.key !== undefined && cut.get(e.key)?.[i]) || slice(text, e)));
    return lines;
  };
  return [side(b, splitB, 0), side(a, splitA, 1)];
}

const slice = (text: Lines, r: Range) => text.lines.slice(r.from, r.to);

/** Entries by key (a repeated key makes both texts fail to parse, cut or not: the full texts are read). */
function byKey(entries: Entry[]): Map<string, Entry> {
  return new Map(entries.flatMap((e) => (e.key === undefined ? [] : [[e.key, e]])));
}

/** The lines of an entry present on both sides, cut, or undefined to keep both as they are. */
function pruneEntry(
  b: Lines,
  entryB: Entry,
  a: Lines,
  entryA: Entry,
  indent: number,
  path: string,
  shape: PruneShape,
): Pair | undefined {
  const key = entryB.key as string;
  // the comparison parses the embedded text: a cut above it would hide it, so descend to it
  const aboveEmbedded = shape.embedded !== undefined && `${shape.embedded.path}.`.startsWith(`${path}.`);
  if (!aboveEmbedded && sameLines(b, entryB, a, entryA)) {
    // every shared entry, one line too: what names a cluster is cut, so clusters' cut texts repeat
    if (!readsAlone(b, entryB, indent)) return undefined;
    const stub = `${" ".repeat(indent)}${key}: ${UNCHANGED}`;
    return [[stub], [stub]];
  }
  if (shape.whole.has(path)) return undefined;
  const embedded = shape.embedded?.path === path ? shape.embedded.shape : undefined;
  // `key:` and a block mapping, or `key: |` and the embedded mapping, indented alike on both sides
  const head = `${" ".repeat(indent)}${key}:${embedded ? " |" : ""}`;
  const inner = childIndent(b, entryB);
  if (b.lines[entryB.from] !== head || a.lines[entryA.from] !== head) return undefined;
  if (inner <= indent || inner !== childIndent(a, entryA)) return undefined;
  const [belowB, belowA] = [
    { from: entryB.from + 1, to: entryB.to },
    { from: entryA.from + 1, to: entryA.to },
  ];
  // a literal block's first line sets its indentation: a blank one would leave that to the next
  if (embedded && (b.depth[belowB.from] !== inner || a.depth[belowA.from] !== inner)) return undefined;
  const cut = embedded
    ? pruneMapping(b, belowB, a, belowA, inner, "", embedded)
    : pruneMapping(b, belowB, a, belowA, inner, path, shape);
  return (
    cut && [
      [head, ...cut[0]],
      [head, ...cut[1]],
    ]
  );
}

/** The indentation of the first line below an entry's key when that is a key line; -1 otherwise. */
function childIndent(text: Lines, entry: Entry): number {
  for (let i = entry.from + 1; i < entry.to; i++) {
    const depth = text.depth[i] as number;
    if (depth < 0) continue;
    const c = (text.lines[i] as string)[depth];
    return c === "#" || c === "-" ? -1 : depth;
  }
  return -1;
}

interface Split {
  head: Range;
  entries: Entry[];
}

/**
 * A block mapping's lines as entries at `indent` (a key line, then the lines indented more, blank lines,
 * comments and a sequence at the key's own indentation), after leading blank and comment lines; undefined
 * when a line is indented less, or an entry starts with a document marker or directive.
 */
function splitEntries(text: Lines, r: Range, indent: number): Split | undefined {
  const entries: Entry[] = [];
  let headEnd = r.to;
  for (let i = r.from; i < r.to; i++) {
    const depth = text.depth[i] as number;
    if (depth < 0) continue;
    if (depth < indent) return undefined;
    const line = text.lines[i] as string;
    const c = line.charCodeAt(indent);
    if (depth > indent || c === HASH || (c === DASH && sequenceItem(line, indent))) {
      if (entries.length === 0 && line.charCodeAt(depth) !== HASH) return undefined;
      continue;
    }
    if (c === PERCENT || line.startsWith("---", indent) || line.startsWith("...", indent)) return undefined;
    const last = entries[entries.length - 1];
    if (last) last.to = i;
    else headEnd = i;
    entries.push({ key: plainKey(line, indent), from: i, to: r.to });
  }
  return { head: { from: r.from, to: headEnd }, entries };
}

const [HASH, DASH, PERCENT] = ["#", "-", "%"].map((c) => c.charCodeAt(0));

/** `- ...` or a lone `-`: an item of a block sequence at its key's indentation. */
function sequenceItem(line: string, indent: number): boolean {
  return line.length === indent + 1 || line[indent + 1] === " ";
}

/** The key of a `key: ...` line when it is a plain word (else undefined: the entry is kept as it is). */
function plainKey(line: string, indent: number): string | undefined {
  return /^([A-Za-z_][\w-]*):(?: |$)/.exec(line.slice(indent))?.[1];
}

function sameLines(b: Lines, x: Range, a: Lines, y: Range): boolean {
  if (x.to - x.from !== y.to - y.from) return false;
  for (let i = 0; i < x.to - x.from; i++) if (b.lines[x.from + i] !== a.lines[y.from + i]) return false;
  return true;
}

/**
 * Entry texts known to read without error, or not, by their indentation and text with each WORD_VALUE's
 * word made one (shared across clusters: most shared blocks repeat, and those that name their cluster
 * differ only in such values).
 */
const readable = new Map<string, boolean>();

/** The same, by the entry's very text: most blocks repeat as they are, and this key costs no regex. */
const readableAsIs = new Map<string, boolean>();

/**
 * `key: value` (or `- key: value`) ending its line, the value a plain word of letters, digits and `_.-`,
 * e.g. a cluster's name or an interval. Whatever that word is, the text reads without error or not alike,
 * and readsAlone's other checks give the same answer: the word holds none of the characters they look for.
 */
const WORD_VALUE = /^( *(?:- )*[A-Za-z_][\w-]*: )[A-Za-z0-9][\w.-]*$/gm;

/**
 * Whether an entry can be cut: moved to the left margin, it reads without error on its own, and it holds
 * no anchor, alias, tag or merge key (they tie it to other blocks) and no dotted key (mayHoldDottedKey).
 */
function readsAlone(text: Lines, entry: Entry, indent: number): boolean {
  const lines = slice(text, entry);
  const asIs = `${indent}\n${lines.join("\n")}`;
  let known = readableAsIs.get(asIs);
  if (known === undefined) {
    known = readsAloneLike(lines, indent, asIs.replace(WORD_VALUE, "$1w"));
    readableAsIs.set(asIs, known);
  }
  return known;
}

/** readsAlone for an entry not seen as is, by `key` (its text, each WORD_VALUE's word made one). */
function readsAloneLike(lines: string[], indent: number, key: string): boolean {
  let known = readable.get(key);
  if (known === undefined) {
    known = !/(?:^|[\s[{,])[&*!]/m.test(key) && !key.includes("<<") && !lines.some(mayHoldDottedKey);
    if (known)
      try {
        parseYaml(lines.map((l) => l.slice(indent)).join("\n"));
      } catch {
        known = false;
      }
    readable.set(key, known);
  }
  return known;
}
