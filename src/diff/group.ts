/**
 * One group of clusters compared: their working files read, the ref's blobs of the files that differ read
 * from git, and each cluster diffed. Run on the main thread or in a worker (diff-worker.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { gitBlobId } from "../layout/git-index.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { readBlobs } from "./git-tree.js";
import { clusterLineStats, type LineStats } from "./line-stats.js";
import { diffClusterFiles, type ClusterDiff } from "./semantic.js";

/** A cluster's diff, with the lines a line diff adds and removes when asked for (the review comment's +/-). */
export type CountedDiff = ClusterDiff & Partial<LineStats>;

/** cluster -> (path in its folder -> T). */
export type Files<T> = Map<string, Map<string, T>>;

/** What a group's comparison needs: its clusters, their files at the ref (blob ids) and in the working tree. */
export interface GroupJob {
  root: string;
  clusters: string[];
  blobIds: Files<string>;
  working: Map<string, string[]>;
  countLines: boolean;
}

/**
 * The group's diffs, in its cluster order. A working file whose git blob id equals the ref's is the same
 * content and is not read from git.
 */
export async function diffGroup(job: GroupJob): Promise<CountedDiff[]> {
  const { root, clusters, blobIds } = job;
  const read = new Map(clusters.map((c) => [c, readWorking(root, c, job.working.get(c))]));
  const wanted: Array<{ cluster: string; file: string; id: string }> = [];
  for (const cluster of clusters)
    for (const [file, id] of blobIds.get(cluster) ?? []) {
      const bytes = read.get(cluster)?.get(file);
      if (bytes === undefined || gitBlobId(bytes, id.length === 64 ? "sha256" : "sha1") !== id)
        wanted.push({ cluster, file, id });
    }
  const after = new Map(
    [...read].map(([c, files]) => [c, files && new Map([...files].map(([f, b]) => [f, b.toString("utf8")]))]),
  );
  const texts = await readBlobs(
    root,
    wanted.map((w) => w.id),
  );
  const changed = new Map(wanted.map((w, i) => [`${w.cluster}/${w.file}`, texts[i] as string]));
  return clusters.flatMap((cluster) => {
    const ids = blobIds.get(cluster);
    const now = after.get(cluster);
    const before =
      ids &&
      new Map([...ids.keys()].map((f) => [f, changed.get(`${cluster}/${f}`) ?? (now?.get(f) as string)]));
    const diffs = diffClusterFiles(cluster, before, now);
    return job.countLines ? diffs.map((d) => ({ ...d, ...clusterLineStats(before, now) })) : diffs;
  });
}

function readWorking(root: string, cluster: string, files: string[] | undefined) {
  if (!files) return undefined;
  const dir = path.join(root, CLUSTERS_DIR, cluster);
  return new Map(files.map((f) => [f, readFileSync(path.join(dir, f))]));
}
