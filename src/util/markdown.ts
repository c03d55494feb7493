/**
 * Text from outside promfleet (a pull request's file names, values, messages) placed into GitHub markdown
 * so that it stays text: it can never end a line, a table cell, a code span or an HTML element, open
 * one, or mention anyone.
 */

/** Every character some renderer treats as a line end: \r\n, \n, \r, VT, FF, NEL, LS, PS. */
const LINE_TERMINATOR = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
/**
 * Characters that change what a reader sees without being seen: C0/C1 controls, bidirectional
 * overrides and isolates ("Trojan Source"), marks, the byte-order mark.
 */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?[\\\]^_`{|}~]/g;
const HTML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
/** A zero-width space after `@`: GitHub notifies nobody, the reader sees the same text. */
const defuseMentions = (text: string) => text.replace(/@/g, "@\u200b");

/** One line of plain text: line ends become ⏎, tabs spaces, invisible characters visible as [U+XXXX]. */
export function oneLine(text: string): string {
  return text
    .replace(LINE_TERMINATOR, "⏎")
    .replace(/\t/g, " ")
    .replace(INVISIBLE, (c) => `[U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}]`);
}

/**
 * Markdown-escaped text for any inline position (paragraph, list item, table cell): one line, every
 * ASCII punctuation character backslash-escaped (no emphasis, links, code, HTML, autolinks, table pipes,
 * math), and no @-mention that notifies anyone.
 */
export function escapeMarkdown(text: string): string {
  return defuseMentions(oneLine(text).replace(ASCII_PUNCTUATION, (c) => `\\${c}`));
}

/** Text for inside raw HTML (e.g. a `<summary>`), where markdown escapes are not processed. */
export function escapeHtml(text: string): string {
  return defuseMentions(oneLine(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string));
}

/**
 * Inline code the text cannot break out of, in any inline position. GFM splits table cells on `|` before
 * it sees code spans, so text with a pipe becomes an escaped `<code>` element instead of a code span.
 */
export function inlineCode(text: string): string {
  const line = oneLine(text);
  if (line === "" || line.includes("|")) return `<code>${escapeMarkdown(line)}</code>`;
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = line.startsWith("`") || line.endsWith("`") || /^ .* $/.test(line) ? " " : "";
  return `${fence}${pad}${defuseMentions(line)}${pad}${fence}`;
}
