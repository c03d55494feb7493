/**
 * Where the spec text's cluster entries are, found by reading lines rather than parsing the document:
 * at 10,000 clusters the yaml library's document costs about a second, this a few milliseconds. Only a
 * plain layout is located (a block sequence under a top-level `clusters:` key, spaces for indentation,
 * each entry a block mapping); anything else answers undefined, and the caller edits through the yaml
 * library's document. The caller still checks the edited text's data (see edit.ts): this only says where.
 */

/** One cluster entry's place in the text, as offsets. */
export interface EntrySpan {
  /** The first of the comment lines right above the entry (its dash line when there are none). */
  lead: number;
  /** The entry's dash line. */
  start: number;
  /** Just after the entry's last line that is not blank or a comment (its line break included). */
  end: number;
  /** Comment lines after `end` that neither lead the next entry nor follow the last one. */
  trailingComments: boolean;
  /** Column of the entry's keys. */
  keyIndent: number;
}

export interface ClusterBlock {
  /** The file's line break, used for every line an edit writes. */
  eol: "\n" | "\r\n";
  /** Column of the entries' dashes. */
  dashIndent: number;
  entries: EntrySpan[];
}

/** One line: its offsets (`next` is past the line break) and what it holds without the indentation. */
export interface Line {
  start: number;
  next: number;
  indent: number;
  /** The line without indentation and line break. */
  rest: string;
}

const CLUSTERS_KEY = /^clusters:[ ]*(?:#.*)?\r?$/gm;
/** A dash line's content: a plain key starting a block mapping, or nothing (the keys start below). */
const ENTRY_FIRST_KEY = /^-(?:( +)[A-Za-z_][A-Za-z0-9_.-]*:(?: |$)|[ ]*$)/;

/** The file's line break, or undefined when lines end differently (a lone CR, or CRLF and LF mixed). */
export function lineBreakOf(text: string): "\n" | "\r\n" | undefined {
  if (!text.includes("\r")) return "\n";
  const lf = text.split("\n").length - 1;
  const crlf = text.split("\r\n").length - 1;
  const cr = text.split("\r").length - 1;
  return crlf === lf && crlf === cr ? "\r\n" : undefined;
}

/** The lines from `from` to the end of the text (a final line without a line break included). */
export function* linesFrom(text: string, from: number, eol: string): Generator<Line> {
  let start = from;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const next = newline === -1 ? text.length : newline + 1;
    const content = text.slice(start, newline === -1 ? text.length : newline + 1 - eol.length);
    const indent = content.length - content.trimStart().length;
    yield { start, next, indent, rest: content.slice(indent) };
    start = next;
  }
}

/** The entries of the spec's block-style `clusters:` sequence, or undefined when the layout is unusual. */
export function locateClusterBlock(text: string): ClusterBlock | undefined {
  const eol = lineBreakOf(text);
  const key = [...text.matchAll(CLUSTERS_KEY)];
  if (!eol || key.length !== 1 || text.includes("\t")) return undefined;
  const keyLine = key[0] as RegExpMatchArray;
  const bodyStart = text.indexOf("\n", keyLine.index as number) + 1;
  if (bodyStart === 0) return undefined;
  const entries = readEntries(linesFrom(text, bodyStart, eol));
  return entries && entries.list.length > 0
    ? { eol, dashIndent: entries.dashIndent, entries: entries.list }
    : undefined;
}

/**
 * The entries, from the lines after `clusters:` up to the next top-level key. Blank and comment lines
 * are held back until the next line says whose they are: lines of the entry when its content follows,
 * the next entry's lead when they are comment lines right above its dash.
 */
function readEntries(lines: Iterable<Line>): { dashIndent: number; list: EntrySpan[] } | undefined {
  const list: EntrySpan[] = [];
  let dashIndent = -1;
  let pending: Line[] = [];
  for (const line of lines) {
    if (line.rest === "" || line.rest.startsWith("#")) {
      pending.push(line);
      continue;
    }
    if (line.indent === 0 && !(dashIndent <= 0 && line.rest.startsWith("-"))) break;
    const current = list.at(-1);
    if (line.rest.startsWith("-") && (dashIndent === -1 || line.indent === dashIndent)) {
      const entry = startEntry(line, pending, current);
      if (!entry) return undefined;
      dashIndent = line.indent;
      list.push(entry);
    } else {
      if (!current || line.indent <= dashIndent) return undefined;
      if (current.keyIndent === -1) current.keyIndent = line.indent;
      if (line.indent < current.keyIndent) return undefined;
      current.end = line.next;
    }
    pending = [];
  }
  if (list.some((e) => e.keyIndent === -1)) return undefined;
  // comment lines indented under the last entry, after its last value: its own, or the next key's?
  const last = list.at(-1);
  if (last && pending.some((l) => l.rest.startsWith("#") && l.indent > dashIndent))
    last.trailingComments = true;
  return { dashIndent, list };
}

/** An entry from its dash line; the comment lines right above it lead it, the rest trail `previous`. */
function startEntry(dash: Line, pending: Line[], previous: EntrySpan | undefined): EntrySpan | undefined {
  const first = ENTRY_FIRST_KEY.exec(dash.rest);
  if (!first) return undefined;
  let lead = pending.length;
  while (lead > 0 && pending[lead - 1]?.rest.startsWith("#")) lead--;
  if (previous && pending.slice(0, lead).some((l) => l.rest.startsWith("#")))
    previous.trailingComments = true;
  return {
    lead: pending[lead]?.start ?? dash.start,
    start: dash.start,
    end: dash.next,
    trailingComments: false,
    keyIndent: first[1] === undefined ? -1 : dash.indent + 1 + first[1].length,
  };
}
