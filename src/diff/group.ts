/**
 * One group of clusters compared: their files at the commit listed, their working files listed and read,
 * the commit's blobs of the files that differ read from git, and each cluster diffed. Run on the main
 * thread or in a worker (diff-worker.ts).
 */
import { readFileSync } from "node:fs";
import { gitBlobId } from "../layout/git-index.js";
import { CLUSTERS_DIR, RENDER_RECORD } from "../layout/names.js";
import { filesUnder } from "../layout/tree.js";
import { blobIdsAt, readBlobs } from "./git-tree.js";
import { clusterLineStats, type LineStats } from "./line-stats.js";
import { byCluster, diffClusterFiles, type ClusterDiff } from "./semantic.js";

/** A cluster's diff, with the lines a line diff adds and removes when asked for (the review comment's +/-). */
export type CountedDiff = ClusterDiff & Partial<LineStats>;

/** What a group's comparison needs: the commit compared with, and its clusters (folder names, then or now). */
export interface GroupJob {
  root: string;
  commit: string;
  clusters: string[];
  countLines: boolean;
}

/** Groups handed out to threads: each thread takes the next by adding one to a counter they share. */
export interface Batch {
  id: number;
  jobs: GroupJob[];
  /** An Int32Array's buffer: the index of the next job to take. */
  next: SharedArrayBuffer;
  /** Jobs each thread works on at once, so that one's git read overlaps another's comparison. */
  inFlight: number;
}

/** Takes the batch's next jobs until none is left, handing each one's diffs (when `run` gives them) to `done`. */
export async function takeJobs(
  batch: Batch,
  run: (job: GroupJob) => Promise<CountedDiff[] | undefined>,
  done: (index: number, diffs: CountedDiff[]) => void,
): Promise<void> {
  const next = new Int32Array(batch.next);
  const take = async () => {
    for (let i = Atomics.add(next, 0, 1); i < batch.jobs.length; i = Atomics.add(next, 0, 1)) {
      const diffs = await run(batch.jobs[i] as GroupJob);
      if (diffs) done(i, diffs);
    }
  };
  await Promise.all(Array.from({ length: batch.inFlight }, take));
}

/**
 * The group's diffs, in its cluster order. Its clusters' files at the commit are listed with one `git
 * ls-tree` while their working files are read. A working file whose git blob id equals the commit's is the
 * same content: it is not read from git, nor decoded, and its blob id stands for its text on both sides (a
 * comparison skips what is equal on both).
 */
export async function diffGroup(job: GroupJob): Promise<CountedDiff[]> {
  const { root, clusters } = job;
  const listing = blobIdsAt(
    root,
    job.commit,
    clusters.map((c) => `${CLUSTERS_DIR}/${c}/`),
  );
  listing.catch(() => undefined); // awaited below, once the working files are read
  const now = new Map(clusters.map((c) => [c, readWorking(root, c)]));
  const blobIds = byCluster(await listing);
  const wanted: Array<{ cluster: string; file: string; id: string }> = [];
  for (const cluster of clusters) {
    const files = now.get(cluster);
    for (const [file, id] of blobIds.get(cluster) ?? []) {
      const bytes = files?.get(file);
      if (bytes !== undefined && gitBlobId(bytes, id.length === 64 ? "sha256" : "sha1") === id)
        files?.set(file, id);
      else wanted.push({ cluster, file, id });
    }
  }
  const texts = await readBlobs(
    root,
    wanted.map((w) => w.id),
  );
  const changed = new Map(wanted.map((w, i) => [`${w.cluster}/${w.file}`, texts[i] as string]));
  return clusters.flatMap((cluster) => {
    const ids = blobIds.get(cluster);
    const files = now.get(cluster);
    const after =
      files && new Map([...files].map(([f, b]) => [f, typeof b === "string" ? b : b.toString("utf8")]));
    const before = ids && new Map([...ids].map(([f, id]) => [f, changed.get(`${cluster}/${f}`) ?? id]));
    if (!before && !after) return [];
    const diffs = diffClusterFiles(cluster, before, after);
    return job.countLines ? diffs.map((d) => ({ ...d, ...clusterLineStats(before, after) })) : diffs;
  });
}

/**
 * A cluster's working files (path in its folder -> content), the render record left out as everywhere in
 * diff (semantic.ts byCluster); undefined when its folder holds none.
 */
function readWorking(root: string, cluster: string): Map<string, Buffer | string> | undefined {
  const folder = `${CLUSTERS_DIR}/${cluster}`;
  const files = filesUnder(root, folder)
    .map((rel) => rel.slice(folder.length + 1))
    .filter((f) => f !== RENDER_RECORD);
  return files.length === 0
    ? undefined
    : new Map(files.map((f) => [f, readFileSync(`${root}/${folder}/${f}`)]));
}
