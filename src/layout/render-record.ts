/**
 * The render record of one cluster folder (clusters/<name>/.promfleet-render.yaml): the fingerprint of
 * everything its files were rendered from, and each file's sha256. It is only ever a shortcut: a record
 * that is missing, unreadable or does not match the folder makes render run ytt for that cluster again.
 */
import { sha256Hex } from "../util/sha256.js";
import { CLUSTERS_DIR, GENERATED_MARKER, RENDER_RECORD } from "./names.js";

const HEADER = `${GENERATED_MARKER}
#! What render made this folder from: a sha256 over every input (spec, overlays, promfleet and ytt
#! versions) and each file's sha256. promfleet render skips ytt for this cluster while both still hold.
`;

export interface RenderRecord {
  /** sha256 over everything that determines the cluster's files. */
  inputs: string;
  /** Path under clusters/<name>/ -> sha256 of the file, for every file render writes there but this one. */
  files: Record<string, string>;
  /** The warnings rendering this cluster gave, repeated when the cluster is not rendered again. */
  warnings: string[];
}

export const recordPath = (cluster: string) => `${CLUSTERS_DIR}/${cluster}/${RENDER_RECORD}`;

/**
 * The record of a cluster's rendered files (repository-relative paths). The body is JSON, which is
 * also YAML, so the file carries promfleet's marker comment and still parses quickly.
 */
export function formatRecord(
  cluster: string,
  inputs: string,
  files: ReadonlyMap<string, string>,
  warnings: readonly string[],
): string {
  const prefix = `${CLUSTERS_DIR}/${cluster}/`;
  const hashes = [...files].map(([rel, content]) => [rel.slice(prefix.length), sha256Hex(content)] as const);
  return serialize({ inputs, files: Object.fromEntries(hashes), warnings: [...warnings] });
}

/** The record's text: files in path order, so the same render always writes the same bytes. */
function serialize(record: RenderRecord): string {
  const files = Object.entries(record.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const sorted: RenderRecord = {
    inputs: record.inputs,
    files: Object.fromEntries(files),
    warnings: record.warnings,
  };
  return `${HEADER}${JSON.stringify(sorted, null, 2)}\n`;
}

/** The record in `text`, or undefined when it is not one promfleet wrote. */
export function parseRecord(text: string): RenderRecord | undefined {
  if (!text.startsWith(HEADER)) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text.slice(HEADER.length));
  } catch {
    return undefined;
  }
  return isRecord(record) ? record : undefined;
}

function isRecord(value: unknown): value is RenderRecord {
  const r = value as Partial<RenderRecord> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.inputs === "string" &&
    typeof r.files === "object" &&
    r.files !== null &&
    Object.values(r.files).every((h) => typeof h === "string") &&
    Array.isArray(r.warnings) &&
    r.warnings.every((w) => typeof w === "string")
  );
}

/**
 * The cluster's current files when its folder is exactly what its record says it was rendered as, from
 * `inputs`: the record names this fingerprint, and the folder's promfleet files are the recorded ones
 * with the recorded hashes (so a hand-edited, added or deleted file means rendering again). Otherwise
 * undefined. `folder` is every file promfleet generated under clusters/<cluster>/, with its content.
 */
export function reusableFiles(
  cluster: string,
  inputs: string,
  folder: ReadonlyMap<string, string>,
): { files: Map<string, string>; warnings: string[] } | undefined {
  const recordText = folder.get(recordPath(cluster));
  const record = recordText === undefined ? undefined : parseRecord(recordText);
  if (!record || record.inputs !== inputs) return undefined;
  const prefix = `${CLUSTERS_DIR}/${cluster}/`;
  const files = new Map([...folder].filter(([rel]) => rel !== recordPath(cluster)));
  const recorded = Object.entries(record.files);
  if (recorded.length !== files.size) return undefined;
  for (const [rel, hash] of recorded) {
    const content = files.get(prefix + rel);
    if (content === undefined || sha256Hex(content) !== hash) return undefined;
  }
  // the record itself must be exactly what rendering writes, or it is rewritten like any stale file
  if (serialize(record) !== recordText) return undefined;
  return { files: new Map([...folder]), warnings: record.warnings };
}
