/**
 * Durations as Prometheus 2.43 reads them (prometheus/common v0.42 `model.ParseDuration`): a unit-less `0`,
 * or numbers with units from the largest to the smallest, each unit at most once, at most 2^63-1
 * nanoseconds. Go's `time.ParseDuration` (Kubernetes and Flux intervals) has the same limit; the fleet
 * spec only admits its h/m/s subset, which reads the same here.
 */
import { ExitCode, PromfleetError } from "./errors.js";

/** Largest to smallest; the order Prometheus requires. */
const UNIT_MILLIS: [unit: string, millis: bigint][] = [
  ["y", 31_536_000_000n],
  ["w", 604_800_000n],
  ["d", 86_400_000n],
  ["h", 3_600_000n],
  ["m", 60_000n],
  ["s", 1_000n],
  ["ms", 1n],
];

/** The syntax, also the fleet schema's pattern; group i+1 holds the number of UNIT_MILLIS[i]. */
export const PROMETHEUS_DURATION_PATTERN = `^(?:0|(?!$)${UNIT_MILLIS.map(([u]) => `(?:(\\d+)${u})?`).join("")})$`;
const SYNTAX = new RegExp(PROMETHEUS_DURATION_PATTERN);
const NANOS_PER_MILLI = 1_000_000n;
/** time.Duration is an int64 of nanoseconds: about 292 years. */
export const MAX_DURATION_NANOS = 2n ** 63n - 1n;
export const MAX_DURATION_TEXT = "292y";

export type DurationReading = { nanos: bigint } | { error: "syntax" | "out of range" };

export function readDuration(text: string): DurationReading {
  const match = SYNTAX.exec(text);
  if (!match) return { error: "syntax" };
  const nanos = UNIT_MILLIS.reduce(
    (sum, [, millis], i) => sum + BigInt(match[i + 1] ?? 0) * millis * NANOS_PER_MILLI,
    0n,
  );
  return nanos > MAX_DURATION_NANOS ? { error: "out of range" } : { nanos };
}

/** A duration flag (5m, 1h30m, 42d) in seconds; a clear error naming the flag otherwise. */
export function parseDuration(text: string, flag: string): number {
  const reading = readDuration(text);
  if ("error" in reading)
    throw new PromfleetError(
      reading.error === "syntax"
        ? `${flag} ${text}: not a duration; use e.g. 30s, 2m, 1h30m`
        : `${flag} ${text}: out of range; the largest duration is ${MAX_DURATION_TEXT}`,
      ExitCode.badInput,
    );
  return Number(reading.nanos) / 1e9;
}
