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
import { diffGroup, type CountedDiff, type GroupJob } from "./group.js";

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
  run(job: GroupJob): Promise<CountedDiff[]>;
  close(): void;
}

/** Worker threads for a fleet of two groups or more (by its working tree's cluster folders), one per spare core. */
function startHelpers(clusters: number): Helper[] {
  const count = clusters < 2 * MIN_GROUP ? 0 : Math.min(MAX_WORKERS, availableParallelism() - 1);
  return Array.from({ length: Math.max(0, count) }, startHelper);
}

function startHelper(): Helper {
  const worker = new Worker(new URL("./diff-worker.js", import.meta.url));
  const pending = new Map<number, { resolve: (d: CountedDiff[]) => void; reject: (e: Error) => void }>();
  let next = 0;
  worker.on("message", (m: { id: number; diffs?: CountedDiff[]; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.diffs) p?.resolve(m.diffs);
    else p?.reject(new Error(m.error));
  });
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on("error", failAll);
  worker.on("exit", () => failAll(new Error("diff worker exited")));
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, job });
      }),
    close: () => void worker.terminate(),
  };
}

/**
 * Every job's diffs, in job order, each thread taking the next job when one of its IN_FLIGHT finishes. A
 * job a worker fails (a worker that could not start) runs on the main thread: an error it repeats is real.
 */
async function runJobs(jobs: GroupJob[], helpers: Helper[]): Promise<CountedDiff[][]> {
  const results = new Array<CountedDiff[]>(jobs.length);
  let next = 0;
  const take = async (run: (job: GroupJob) => Promise<CountedDiff[]>) => {
    for (let i = next++; i < jobs.length; i = next++) {
      const job = jobs[i] as GroupJob;
      results[i] = await run(job).catch(() => diffGroup(job));
    }
  };
  const runners = [diffGroup, ...helpers.map((h) => h.run)];
  await Promise.all(runners.flatMap((run) => Array.from({ length: IN_FLIGHT }, () => take(run))));
  return results;
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
