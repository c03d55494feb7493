/**
 * A worker thread comparing groups of clusters for `diff` (stream.ts): it takes a batch's groups with the
 * main thread and the other workers, answering each group's diffs by index, then that it is done. A group
 * that fails here is left to the main thread, which runs it again (an error it repeats is real).
 */
import { parentPort } from "node:worker_threads";
import { diffGroup, takeJobs, type Batch } from "./group.js";

parentPort?.on("message", (batch: Batch) => {
  const answer = (message: object) => parentPort?.postMessage({ batch: batch.id, ...message });
  void takeJobs(
    batch,
    (job) => diffGroup(job).catch(() => undefined),
    (index, diffs) => answer({ index, diffs }),
  ).then(() => answer({ done: true }));
});
