import { ExitCode, PromfleetError } from "./errors.js";

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/** A Prometheus duration (5m, 1h30m, 42d) in seconds; a clear error naming the flag otherwise. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text)
    throw new PromfleetError(`${flag} ${text}: not a duration; use e.g. 30s, 2m, 1h30m`, ExitCode.badInput);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_SECONDS[unit as string] as number), 0);
}
