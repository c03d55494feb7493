/** Runs ytt over a staged fleet's chunks, and hands each chunk's values on as soon as they are ready. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { ClusterSpec } from "../fleet/spec.js";
import { chunkOutput, chunkValues, type Stage, type StagedChunk } from "./stage.js";
import { runYttBulk, type Ytt } from "./ytt.js";

export interface ChunkRun<R> {
  ytt: Ytt;
  stage: Stage;
  /** ytt processes at once. */
  parallel: number;
  /** The data values of a chunk (`clusters: [{stack, cluster}]`, as the root template reads them). */
  dataValues: (chunk: StagedChunk) => unknown;
  /** One cluster's result from its values (undefined when ytt gave none); called in chunk order. */
  finish: (cluster: ClusterSpec, values: unknown) => R;
}

/** Clusters finished between two turns of the event loop, which start the ytt runs whose slot is free. */
const FINISH_BATCH = 16;

/**
 * Every cluster's `finish` result, in chunk order. ytt runs `parallel` chunks at once, and a finished
 * ytt run frees its slot at once: the next chunk's ytt starts while this process finishes earlier
 * chunks, a few clusters at a time, so ytt hardly waits for this process (it did for a whole chunk's
 * finishing when one worker both ran ytt and finished its output).
 * On a ytt error no further chunk starts; the first failing chunk's error is thrown once the runs
 * already started have ended (the stage can then be removed).
 */
export async function runChunks<R>(run: ChunkRun<R>): Promise<R[]> {
  const { chunks } = run.stage;
  let failed = false;
  let next = 0;
  // chunks whose output the finishing loop has taken; a chunk starts only within `parallel + 1` of it,
  // so outputs do not pile up in memory when finishing is the slower side
  let taken = 0;
  let wake: Array<() => void> = [];
  const outputs = chunks.map(() => deferred<string | undefined>());
  const slot = async (): Promise<void> => {
    while (next < chunks.length && !failed) {
      if (next >= taken + run.parallel + 1) {
        await new Promise<void>((resolve) => wake.push(resolve));
        continue;
      }
      const i = next++;
      const output = outputs[i] as Deferred<string | undefined>;
      try {
        output.resolve(await yttChunk(run, chunks[i] as StagedChunk, i));
      } catch (e) {
        failed = true;
        output.reject(e);
      }
    }
    // chunks never started: their results are not needed once one has failed
    while (next < chunks.length) (outputs[next++] as Deferred<string | undefined>).resolve(undefined);
  };
  const slots = Promise.all(Array.from({ length: Math.min(run.parallel, chunks.length) }, slot));
  try {
    const results: R[] = [];
    for (const [i, output] of outputs.entries()) {
      const text = await output.promise;
      taken = i + 1;
      const waiting = wake;
      wake = [];
      waiting.forEach((resolve) => resolve());
      if (text === undefined) continue;
      const values = chunkValues(text);
      for (const [k, cluster] of (chunks[i] as StagedChunk).clusters.entries()) {
        if (k % FINISH_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
        results.push(run.finish(cluster, values.get(cluster.name)));
      }
    }
    return results;
  } finally {
    failed = true;
    wake.forEach((resolve) => resolve());
    await slots;
  }
}

/**
 * The data values file is written synchronously (a fraction of a millisecond), so ytt starts in the
 * same turn of the event loop as the run before it ended, not after the clusters being finished.
 */
async function yttChunk<R>(run: ChunkRun<R>, chunk: StagedChunk, i: number): Promise<string> {
  const dataValues = path.join(run.stage.dir, `fleet-values-${i}.json`);
  writeFileSync(dataValues, JSON.stringify(run.dataValues(chunk)));
  const files = await runYttBulk(run.ytt, {
    files: [chunk.dir],
    dataValuesFiles: [dataValues],
    renamePaths: run.stage.renamePaths,
  });
  return chunkOutput(files);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A promise settled from outside; marked handled, since it is awaited only when its turn comes. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}
