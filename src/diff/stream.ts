/**
 * `diff` against a git ref at fleet scale: the working tree's cluster folders are listed and the worker
 * threads start while git resolves the ref, then the clusters are compared in groups (group.ts: each lists
 * its clusters' files at the commit and in the working tree), shared between the main thread and worker
 * threads (diff-worker.ts), two groups in flight on each so one's git read overlaps another's comparison.
 * The clusters only the commit has are listed meanwhile, and compared last. Memory holds the groups in
 * flight, never both trees.
 */
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { CLUSTERS_DIR } from "../layout/names.js";
import { clusterFoldersAt, resolveCommit } from "./git-tree.js";
import { diffGroup, takeJobs, type Batch, type CountedDiff, type GroupJob } from "./group.js";

export type { CountedDiff } from "./group.js";

/** Clusters per group: at least this many (a group costs a git process), at most that many (memory). */
const [MIN_GROUP, MAX_GROUP] = [50, 250];
/** Groups per thread, at least, when the fleet allows: threads that finish together. */
const GROUPS_PER_THREAD = 4;
/** Groups each thread works on at once. */
const IN_FLIGHT = 2;
const MAX_WORKERS = 3;

type Options = { countLines?: boolean };

/** What changed on which cluster between a ref's clusters/ and the working tree's, in cluster order. */
export async function diffWorkingTree(
  root: string,
  ref: string,
  options: Options = {},
): Promise<CountedDiff[]> {
  return (await startDiff(root, ref, options)).diffs;
}

/**
 * diffWorkingTree, started: settles once the ref is resolved (rejects when it is not a commit) and the
 * groups are handed out, so that a caller can go on while they are compared.
 */
export async function startDiff(
  root: string,
  ref: string,
  options: Options = {},
): Promise<{ diffs: Promise<CountedDiff[]> }> {
  const folders = clusterFolders(root);
  const helpers = startHelpers(folders.length);
  const close = () => helpers.forEach((h) => h.close());
  const commit = await resolveCommit(root, ref).catch((e: unknown) => {
    close();
    throw e;
  });
  const jobs = (clusters: string[]) =>
    groups(clusters, helpers.length + 1).map((group): GroupJob => ({
      root,
      commit,
      clusters: group,
      countLines: options.countLines ?? false,
    }));
  const present = runJobs(jobs(folders), helpers);
  const here = new Set(folders);
  const gone = clusterFoldersAt(root, commit).then((atCommit) =>
    runJobs(jobs(atCommit.filter((c) => !here.has(c)).sort()), helpers),
  );
  const diffs = Promise.all([present, gone]).then(([p, g]) => inClusterOrder(p.flat(), g.flat()));
  diffs.then(close, close);
  return { diffs };
}

/** Two lists of diffs, each in cluster order and of different clusters, as one. */
function inClusterOrder(a: CountedDiff[], b: CountedDiff[]): CountedDiff[] {
  if (b.length === 0) return a;
  return [...a, ...b].sort((x, y) => (x.cluster < y.cluster ? -1 : x.cluster > y.cluster ? 1 : 0));
}

/** The clusters in groups of MIN_GROUP to MAX_GROUP, GROUPS_PER_THREAD per thread when there are enough. */
function groups(names: string[], threads: number): string[][] {
  const size = Math.min(
    MAX_GROUP,
    Math.max(MIN_GROUP, Math.ceil(names.length / (threads * GROUPS_PER_THREAD))),
  );
  return Array.from({ length: Math.ceil(names.length / size) }, (_, i) =>
    names.slice(i * size, (i + 1) * size),
  );
}

/** A worker thread taking groups. */
interface Helper {
  /** Settles once the worker has taken the batch's last job (or stopped), each job's diffs handed to `done`. */
  run(batch: Batch, done: (index: number, diffs: CountedDiff[]) => void): Promise<void>;
  close(): void;
}

/** Worker threads for a fleet of two groups or more (by its working tree's cluster folders), one per spare core. */
function startHelpers(clusters: number): Helper[] {
  const count = clusters < 2 * MIN_GROUP ? 0 : Math.min(MAX_WORKERS, availableParallelism() - 1);
  return Array.from({ length: Math.max(0, count) }, startHelper);
}

function startHelper(): Helper {
  const worker = new Worker(new URL("./diff-worker.js", import.meta.url));
  const batches = new Map<number, { done: (index: number, diffs: CountedDiff[]) => void; end: () => void }>();
  worker.on("message", (m: { batch: number; index?: number; diffs?: CountedDiff[]; done?: true }) => {
    const b = batches.get(m.batch);
    if (m.diffs && m.index !== undefined) b?.done(m.index, m.diffs);
    if (m.done) b?.end();
  });
  // a worker that fails or could not start takes no more jobs: the main thread runs what it left
  let stopped = false;
  const stop = () => {
    stopped = true;
    for (const b of batches.values()) b.end();
  };
  worker.on("error", stop);
  worker.on("exit", stop);
  return {
    run: (batch, done) =>
      new Promise((end) => {
        if (stopped) return end();
        batches.set(batch.id, { done, end: () => (batches.delete(batch.id), end()) });
        worker.postMessage(batch);
      }),
    close: () => void worker.terminate(),
  };
}

let nextBatch = 0;

/**
 * Every job's diffs, in job order: the main thread and the workers take the next job when one of their
 * IN_FLIGHT finishes, from a counter they share (a worker never waits for the main thread to hand one out).
 * A job a worker took and did not answer (it failed, or the worker stopped) runs on the main thread last:
 * an error it repeats is real.
 */
async function runJobs(jobs: GroupJob[], helpers: Helper[]): Promise<CountedDiff[][]> {
  const results = new Array<CountedDiff[] | undefined>(jobs.length);
  const done = (index: number, diffs: CountedDiff[]) => void (results[index] = diffs);
  const batch: Batch = { id: nextBatch++, jobs, next: new SharedArrayBuffer(4), inFlight: IN_FLIGHT };
  await Promise.all([takeJobs(batch, diffGroup, done), ...helpers.map((h) => h.run(batch, done))]);
  for (const [i, job] of jobs.entries()) results[i] ??= await diffGroup(job);
  return results as CountedDiff[][];
}

/** The folders under clusters/ in the working tree, sorted (none without it). */
function clusterFolders(root: string): string[] {
  try {
    return readdirSync(path.join(root, CLUSTERS_DIR), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}
