/**
 * `diff` against a git ref at fleet scale: the ref's tree is listed once (path -> blob id), the working
 * tree is read a group of clusters at a time, and only the blobs of files that differ are read from git.
 * A working file whose git blob id equals the ref's is the same content and is not read twice; memory
 * holds one group's files, never both trees.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CLUSTERS_DIR } from "../layout/names.js";
import { blobIdsAtRef, readBlobs } from "./git-tree.js";
import { clusterLineStats, type LineStats } from "./line-stats.js";
import { byCluster, clusterNames, diffClusterFiles, type ClusterDiff } from "./semantic.js";

/** Clusters read, compared and released together (one `git cat-file` per group). */
const GROUP_SIZE = 250;

/** A cluster's diff, with the lines a line diff adds and removes when asked for (the review comment's +/-). */
export type CountedDiff = ClusterDiff & Partial<LineStats>;

/** What changed on which cluster between a ref's clusters/ and the working tree's, in cluster order. */
export async function diffWorkingTree(
  root: string,
  ref: string,
  options: { countLines?: boolean } = {},
): Promise<CountedDiff[]> {
  const before = byCluster(await blobIdsAtRef(root, ref));
  const after = byCluster(new Map(workingFiles(root).map((p) => [p, undefined])));
  const names = clusterNames(before, after);
  const diffs: ClusterDiff[] = [];
  for (let i = 0; i < names.length; i += GROUP_SIZE) {
    const group = names.slice(i, i + GROUP_SIZE);
    diffs.push(...(await diffGroup(root, group, before, after, options.countLines ?? false)));
  }
  return diffs;
}

type Files<T> = Map<string, Map<string, T>>;

async function diffGroup(
  root: string,
  group: string[],
  blobIds: Files<string>,
  working: Files<undefined>,
  countLines: boolean,
): Promise<CountedDiff[]> {
  const read = new Map(group.map((c) => [c, readWorking(root, c, working.get(c))]));
  const wanted: Array<{ cluster: string; file: string; id: string }> = [];
  for (const cluster of group)
    for (const [file, id] of blobIds.get(cluster) ?? []) {
      const bytes = read.get(cluster)?.get(file);
      if (bytes === undefined || blobId(bytes, id.length) !== id) wanted.push({ cluster, file, id });
    }
  const after = new Map(
    [...read].map(([c, files]) => [c, files && new Map([...files].map(([f, b]) => [f, b.toString("utf8")]))]),
  );
  const texts = await readBlobs(
    root,
    wanted.map((w) => w.id),
  );
  const changed = new Map(wanted.map((w, i) => [`${w.cluster}/${w.file}`, texts[i] as string]));
  return group.flatMap((cluster) => {
    const ids = blobIds.get(cluster);
    const now = after.get(cluster);
    const before =
      ids &&
      new Map([...ids.keys()].map((f) => [f, changed.get(`${cluster}/${f}`) ?? (now?.get(f) as string)]));
    const diffs = diffClusterFiles(cluster, before, now);
    return countLines ? diffs.map((d) => ({ ...d, ...clusterLineStats(before, now) })) : diffs;
  });
}

function readWorking(root: string, cluster: string, files: Map<string, undefined> | undefined) {
  if (!files) return undefined;
  const dir = path.join(root, CLUSTERS_DIR, cluster);
  return new Map([...files.keys()].map((f) => [f, readFileSync(path.join(dir, f))]));
}

/** Every regular file under clusters/, as `clusters/<name>/<path>`. */
function workingFiles(root: string): string[] {
  const top = path.join(root, CLUSTERS_DIR);
  let entries;
  try {
    entries = readdirSync(top, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
}

/** git's object id of a blob with this content (SHA-1, or SHA-256 in a repository that uses it). */
function blobId(content: Buffer, idLength: number): string {
  return createHash(idLength === 64 ? "sha256" : "sha1")
    .update(`blob ${content.length}\0`)
    .update(content)
    .digest("hex");
}
