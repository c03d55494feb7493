/** Markdown-escaped text: no emphasis, links, headings or HTML, and no @-mention that notifies anyone. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`)
    .replace(/@/g, "@\u200b");
}

/** Inline code that the text cannot break out of. */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text.replace(/@/g, "@\u200b").replace(/\n/g, " ")}${pad}${fence}`;
}
