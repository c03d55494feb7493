/** A worker thread comparing groups of clusters for `diff` (stream.ts): a GroupJob per message, answered by id. */
import { parentPort } from "node:worker_threads";
import { diffGroup, type GroupJob } from "./group.js";

parentPort?.on("message", ({ id, job }: { id: number; job: GroupJob }) => {
  diffGroup(job).then(
    (diffs) => parentPort?.postMessage({ id, diffs }),
    (e: unknown) => parentPort?.postMessage({ id, error: e instanceof Error ? e.message : String(e) }),
  );
});
