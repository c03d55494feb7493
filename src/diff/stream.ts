/**
 * `diff` against a git ref at fleet scale: the ref's tree is listed once (path -> blob id) while the
 * working tree is listed, then the clusters are compared in groups (group.ts), shared between the main
 * thread and worker threads (diff-worker.ts), two groups in flight on each so one's git read overlaps
 * another's comparison. Memory holds the groups in flight, never both trees.
 */
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { CLUSTERS_DIR } from "../layout/names.js";
import { blobIdsAtRef } from "./git-tree.js";
import { diffGroup, type CountedDiff, type GroupJob } from "./group.js";
import { byCluster, clusterNames } from "./semantic.js";

export type { CountedDiff } from "./group.js";

/** Clusters per group: at least this many (a group costs a git process), at most that many (memory). */
const [MIN_GROUP, MAX_GROUP] = [50, 250];
/** Groups per thread, at least, when the fleet allows: threads that finish together. */
const GROUPS_PER_THREAD = 4;
/** Groups each thread works on at once. */
const IN_FLIGHT = 2;
const MAX_WORKERS = 3;

/** What changed on which cluster between a ref's clusters/ and the working tree's, in cluster order. */
export async function diffWorkingTree(
  root: string,
  ref: string,
  options: { countLines?: boolean } = {},
): Promise<CountedDiff[]> {
  // the workers load their modules, and git lists the ref, while the working tree is listed
  const helpers = startHelpers(root);
  try {
    const listing = blobIdsAtRef(root, ref);
    const working = byCluster(new Map(workingFiles(root).map((p) => [p, true])));
    const blobIds = byCluster(await listing);
    const names = clusterNames(blobIds, working);
    const jobs = groups(names, helpers.length + 1).map((clusters): GroupJob => ({
      root,
      clusters,
      blobIds: new Map(clusters.flatMap((c) => entry(blobIds, c))),
      working: new Map(clusters.flatMap((c) => entry(working, c)).map(([c, f]) => [c, [...f.keys()]])),
      countLines: options.countLines ?? false,
    }));
    return (await runJobs(jobs, helpers)).flat();
  } finally {
    for (const h of helpers) h.close();
  }
}

const entry = <T>(map: Map<string, T>, key: string): Array<[string, T]> => {
  const value = map.get(key);
  return value === undefined ? [] : [[key, value]];
};

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
function startHelpers(root: string): Helper[] {
  let clusters = 0;
  try {
    clusters = readdirSync(path.join(root, CLUSTERS_DIR)).length;
  } catch {
    // no clusters/ folder: nothing to share
  }
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

/** Every regular file under clusters/, as `clusters/<name>/<path>`. */
function workingFiles(root: string): string[] {
  const top = path.join(root, CLUSTERS_DIR);
  let entries;
  try {
    entries = readdirSync(top, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  // parentPath is `top` or below it: the path from `top` is its tail, with "/" between names
  const relative = (dir: string) => dir.slice(top.length).split(path.sep).join("/");
  return entries.filter((e) => e.isFile()).map((e) => `${CLUSTERS_DIR}${relative(e.parentPath)}/${e.name}`);
}
