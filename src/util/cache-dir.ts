/** Where promfleet keeps its local caches (data, never code or secrets: README "Security"). */
import os from "node:os";
import path from "node:path";

/** $XDG_CACHE_HOME/promfleet/<sub>, else ~/.cache/promfleet/<sub>. */
export function promfleetCacheDir(sub: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "promfleet", sub);
}

/**
 * True when JSON gives back exactly this parsed-YAML value: YAML has NaN, infinities and -0, JSON not;
 * a cache stores only values that pass.
 */
export function survivesJson(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (value === null || typeof value !== "object") return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(survivesJson);
}
