/** Per-cluster semantic diff of two rendered trees: added, removed, changed clusters and what changed. */
import { CREDENTIALS_FILE, RENDER_RECORD } from "../layout/names.js";
import { diffResources } from "./resource-diff.js";
import { diffValuesText } from "./values-diff.js";

export interface ClusterDiff {
  cluster: string;
  status: "added" | "removed" | "changed";
  /** Human-readable changes, most telling first. */
  changes: string[];
}

const VALUES = "values.yaml";
const VALUES_SECRET = "manifests/values-secret.yaml";

/** Per-cluster differences between two rendered trees (clusters/<name>/... path -> content), by name. */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): ClusterDiff[] {
  const [b, a] = [byCluster(before), byCluster(after)];
  return clusterNames(b, a).flatMap((cluster) => diffClusterFiles(cluster, b.get(cluster), a.get(cluster)));
}

/** The cluster names of two trees, in the order diffs are reported. */
export function clusterNames(before: Map<string, unknown>, after: Map<string, unknown>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].sort();
}

/** One cluster's difference (none when equal), from its files before and after (path in its folder -> content). */
export function diffClusterFiles(
  cluster: string,
  before: Map<string, string> | undefined,
  after: Map<string, string> | undefined,
): ClusterDiff[] {
  if (!before) return [{ cluster, status: "added", changes: fileList(cluster, "added", after) }];
  if (!after) return [{ cluster, status: "removed", changes: fileList(cluster, "removed", before) }];
  const changes = diffCluster(cluster, before, after);
  return changes.length > 0 ? [{ cluster, status: "changed", changes }] : [];
}

/** cluster -> (path inside the cluster folder -> value, e.g. its content). */
export function byCluster<T>(tree: Map<string, T>): Map<string, Map<string, T>> {
  const clusters = new Map<string, Map<string, T>>();
  for (const [p, content] of tree) {
    const [, cluster, ...rest] = p.split("/");
    // the render record is bookkeeping (hashes of the other files), nothing a cluster applies
    if (!cluster || rest.length === 0 || rest.join("/") === RENDER_RECORD) continue;
    const files = clusters.get(cluster) ?? new Map<string, T>();
    files.set(rest.join("/"), content);
    clusters.set(cluster, files);
  }
  return clusters;
}

function fileList(cluster: string, what: FileChange, files: Map<string, string> | undefined): string[] {
  return [...(files?.keys() ?? [])].sort().map((f) => fileLine(cluster, what, f));
}

type FileChange = "added" | "removed";

/** `new file X` / `deleted X`; the encrypted credential in a reviewer's terms. */
function fileLine(cluster: string, what: FileChange, file: string): string {
  if (file === CREDENTIALS_FILE) return `${file}: credential of cluster ${cluster} ${what} (SOPS)`;
  return `${what === "added" ? "new file" : "deleted"} ${file}`;
}

/** values.yaml first (what Prometheus does), then the other files in path order. */
function diffCluster(cluster: string, before: Map<string, string>, after: Map<string, string>): string[] {
  const files = [...new Set([...before.keys(), ...after.keys()])].sort((x, y) =>
    x === VALUES ? -1 : y === VALUES ? 1 : x < y ? -1 : 1,
  );
  const valuesChanged = before.get(VALUES) !== after.get(VALUES);
  return files.flatMap((file) => {
    const [b, a] = [before.get(file), after.get(file)];
    if (b === a) return [];
    if (b === undefined) return [fileLine(cluster, "added", file)];
    if (a === undefined) return [fileLine(cluster, "removed", file)];
    if (file === CREDENTIALS_FILE)
      return [`${file}: credential of cluster ${cluster} rotated or re-encrypted (SOPS)`];
    if (file === VALUES) return diffValuesText(b, a);
    if (file === VALUES_SECRET && valuesChanged) return [`${file}: carries the new values.yaml`];
    return diffResources(file, b, a);
  });
}
