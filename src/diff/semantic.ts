/** Per-cluster semantic diff of two rendered trees: added, removed, changed clusters and what changed. */
import { parse } from "yaml";
import { CREDENTIALS_FILE, RENDER_RECORD } from "../layout/names.js";
import { isObject, type Json } from "./json.js";
import { diffResources } from "./resource-diff.js";
import { diffValues } from "./values-diff.js";

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
  return [...new Set([...b.keys(), ...a.keys()])].sort().flatMap((cluster): ClusterDiff[] => {
    const [fb, fa] = [b.get(cluster), a.get(cluster)];
    if (!fb) return [{ cluster, status: "added", changes: fileList(cluster, "added", fa) }];
    if (!fa) return [{ cluster, status: "removed", changes: fileList(cluster, "removed", fb) }];
    const changes = diffCluster(cluster, fb, fa);
    return changes.length > 0 ? [{ cluster, status: "changed", changes }] : [];
  });
}

/** cluster -> (path inside the cluster folder -> content). */
function byCluster(tree: Map<string, string>): Map<string, Map<string, string>> {
  const clusters = new Map<string, Map<string, string>>();
  for (const [p, content] of tree) {
    const [, cluster, ...rest] = p.split("/");
    // the render record is bookkeeping (hashes of the other files), nothing a cluster applies
    if (!cluster || rest.length === 0 || rest.join("/") === RENDER_RECORD) continue;
    const files = clusters.get(cluster) ?? new Map<string, string>();
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

function diffValuesText(before: string, after: string): string[] {
  try {
    return diffValues(parseMapping(before), parseMapping(after));
  } catch (e) {
    return [`${VALUES} changed, and is not valid YAML: ${(e as Error).message.split("\n")[0]}`];
  }
}

function parseMapping(text: string): Json {
  const parsed: unknown = parse(text);
  return isObject(parsed) ? parsed : {};
}
