/**
 * The render record of one cluster folder (clusters/<name>/.promfleet-render.yaml): the fingerprint of
 * everything its files were rendered from, and each file's git blob id. It is only ever a shortcut: a
 * record that is missing, unreadable or does not match the folder makes render run ytt for that cluster
 * again.
 */
import { gitBlobId } from "./git-index.js";
import { CLUSTERS_DIR, GENERATED_MARKER, RENDER_RECORD } from "./names.js";
import type { ClusterTree } from "./tree.js";

/**
 * Files are named by git blob id (not sha256, as records did before; such a record no longer matches,
 * which costs one render): in a git work tree the index already holds them, so a clean folder is
 * checked without reading its files.
 */
const HEADER = `${GENERATED_MARKER}
#! What render made this folder from: a sha256 over every input (spec, overlays, promfleet and ytt
#! versions) and each file's git blob id. promfleet render skips ytt for this cluster while both hold.
`;

export interface RenderRecord {
  /** sha256 over everything that determines the cluster's files. */
  inputs: string;
  /** Path under clusters/<name>/ -> git blob id of the file, for every file render writes there but this one. */
  files: Record<string, string>;
  /** The warnings rendering this cluster gave, repeated when the cluster is not rendered again. */
  warnings: string[];
}

export const recordPath = (cluster: string) => `${CLUSTERS_DIR}/${cluster}/${RENDER_RECORD}`;

/**
 * The record of a cluster's rendered files (repository-relative path -> git blob id). The body is JSON,
 * which is also YAML, so the file carries promfleet's marker comment and still parses quickly.
 */
export function formatRecord(
  cluster: string,
  inputs: string,
  blobIds: ReadonlyMap<string, string>,
  warnings: readonly string[],
): string {
  const prefix = `${CLUSTERS_DIR}/${cluster}/`;
  const hashes = [...blobIds].map(([rel, id]) => [rel.slice(prefix.length), id] as const);
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
 * promfleet's files in the cluster's folder when the folder is exactly what its record says it was
 * rendered as, from `inputs`: the record names this fingerprint, the files it lists have the recorded
 * blob ids, and every other file in the folder is not promfleet's (so a hand-edited, added or deleted file
 * means rendering again). Otherwise undefined. `folder` is every file under clusters/<cluster>/ in `tree`.
 */
export function reusableFiles(
  cluster: string,
  inputs: string,
  tree: ClusterTree,
  folder: readonly string[],
): { files: string[]; warnings: string[] } | undefined {
  const own = recordPath(cluster);
  if (!folder.includes(own)) return undefined;
  if (isPredictedRecord(cluster, inputs, tree, folder)) return { files: [...folder], warnings: [] };
  const recordText = tree.content(own);
  const record = parseRecord(recordText);
  if (!record || record.inputs !== inputs) return undefined;
  const prefix = `${CLUSTERS_DIR}/${cluster}/`;
  const listed = new Set(Object.keys(record.files).map((rel) => prefix + rel));
  for (const rel of folder)
    if (rel !== own && !listed.has(rel) && tree.content(rel).startsWith(GENERATED_MARKER)) return undefined;
  for (const [rel, id] of Object.entries(record.files))
    if (!folder.includes(prefix + rel) || tree.blobId(prefix + rel) !== id) return undefined;
  // the record itself must be exactly what rendering writes, or it is rewritten like any stale file
  if (serialize(record) !== recordText) return undefined;
  return { files: [own, ...listed], warnings: record.warnings };
}

/**
 * True when git vouches that the folder's record is, byte for byte, the record a render without warnings
 * writes for `inputs` and the folder's other files as they are: then the folder is exactly what it
 * records (nothing else in it, each file with its recorded id) and neither the record nor any file needs
 * reading. Anything else (a warning, a file that is not promfleet's, a file git is not sure of) is
 * answered by reading the record.
 */
function isPredictedRecord(cluster: string, inputs: string, tree: ClusterTree, folder: readonly string[]) {
  const own = recordPath(cluster);
  const recordId = tree.vouchedBlobId(own);
  if (recordId === undefined) return false;
  const files: Record<string, string> = {};
  const prefix = `${CLUSTERS_DIR}/${cluster}/`;
  for (const rel of folder) {
    if (rel === own) continue;
    const id = tree.vouchedBlobId(rel);
    if (id === undefined) return false;
    files[rel.slice(prefix.length)] = id;
  }
  return gitBlobId(serialize({ inputs, files, warnings: [] })) === recordId;
}
