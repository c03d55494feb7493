/** A fleet diff as text, GitHub markdown (every PR-controlled string escaped) or JSON. */
import { escapeHtml, escapeMarkdown, inlineCode, oneLine } from "../util/markdown.js";
import type { ClusterDiff } from "./semantic.js";

export type DiffFormat = "text" | "markdown" | "json";

export function formatDiff(diffs: ClusterDiff[], format: DiffFormat): string {
  if (format === "json") return JSON.stringify({ clusters: diffs }, null, 2);
  if (format === "markdown") return markdown(diffs);
  if (diffs.length === 0) return "no cluster changes";
  return diffs
    .map((d) => [`${d.cluster}: ${d.status}`, ...d.changes.map((c) => `  ${c}`)].join("\n"))
    .join("\n");
}

function markdown(diffs: ClusterDiff[]): string {
  if (diffs.length === 0) return "No cluster changes.";
  const rows = diffs.map((d) => `| ${inlineCode(oneLine(d.cluster))} | ${d.status} | ${d.changes.length} |`);
  const details = diffs.map(
    (d) =>
      `<details><summary>${escapeHtml(`${d.cluster}: ${d.status}`)}</summary>\n\n${d.changes.map((c) => `- ${escapeMarkdown(c)}`).join("\n")}\n\n</details>`,
  );
  return ["| cluster | change | details |", "| --- | --- | --- |", ...rows, "", ...details].join("\n");
}
