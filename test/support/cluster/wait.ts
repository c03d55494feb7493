/** Polling with a deadline: the one way the rollout tests wait for a cluster to converge. */
import { sleep } from "../e2e/prometheus-process.js";

/**
 * Runs `step` and, with PROMFLEET_ROLLOUT_TIMINGS=1, prints how long it took: where a run's time goes.
 */
export async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await step();
  } finally {
    if (process.env.PROMFLEET_ROLLOUT_TIMINGS)
      console.info(`[rollout] ${((Date.now() - start) / 1000).toFixed(1)}s ${what}`);
  }
}

/** Polls `probe` every `intervalMs` (one https GET or so: cheap) until it returns a value. */
export function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  return timed(`waiting for ${what}`, async () => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (e) {
        last = e;
      }
      await sleep(intervalMs);
    }
    throw new Error(
      `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ""}`,
    );
  });
}
