/** Deterministic YAML: sorted keys with the Kubernetes ones first, no line folding. */
import { Document } from "yaml";

/** Keys that read best first in Kubernetes resources and Prometheus jobs; the rest sort by name. */
const LEADING_KEYS = ["apiVersion", "kind", "metadata", "job_name", "name", "namespace"];

function rank(key: string): number {
  const i = LEADING_KEYS.indexOf(key);
  return i === -1 ? LEADING_KEYS.length : i;
}

function compareKeys(a: { key: unknown }, b: { key: unknown }): number {
  const ka = String((a.key as { value?: unknown })?.value ?? a.key);
  const kb = String((b.key as { value?: unknown })?.value ?? b.key);
  return rank(ka) - rank(kb) || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

/** Deterministic YAML: sorted keys (order is free in maps), no line folding, block literals for text. */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { sortMapEntries: compareKeys });
  return doc.toString({ lineWidth: 0, indentSeq: false, blockQuote: "literal" });
}

/** Several documents in one file, each started by `---`. */
export function toYamlDocuments(values: unknown[]): string {
  return values.map((v) => `---\n${toYaml(v)}`).join("");
}
