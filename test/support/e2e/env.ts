/**
 * Where the end-to-end harness finds its inputs and tools.
 *
 * Nothing here starts a process; `e2eSkipReason()` tells a test file whether the
 * machine can run the end-to-end suite at all (and why not), so the file can
 * `describeWith(...)` (test/support/prerequisites.ts): skipped with the reason locally, a failure under CI=true.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export const overlayFile = path.join(repoRoot, "overlays", "testing", "local-e2e.yaml");

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Prometheus binary: $PROMFLEET_PROMETHEUS, else Debian's /usr/bin/prometheus. */
export function prometheusBinary(): string {
  return process.env.PROMFLEET_PROMETHEUS || "/usr/bin/prometheus";
}

/** ytt binary: $PROMFLEET_YTT, else `<repo>/.tools/bin/ytt`, else `ytt` on PATH. */
export function yttBinary(): string | undefined {
  const fromEnv = process.env.PROMFLEET_YTT;
  if (fromEnv) return fromEnv.includes(path.sep) ? fromEnv : (onPath(fromEnv) ?? fromEnv);
  const local = path.join(repoRoot, ".tools", "bin", "ytt");
  if (isExecutable(local)) return local;
  return onPath("ytt");
}

/** `timeout` from coreutils, used to bound every Prometheus process's lifetime outside Node too. */
export function timeoutBinary(): string | undefined {
  return onPath("timeout");
}

/** Why the end-to-end suite cannot run here, or undefined when it can. */
export function e2eSkipReason(): string | undefined {
  const prom = prometheusBinary();
  if (!isExecutable(prom))
    return `e2e skipped: no Prometheus binary at ${prom} (apt-get install prometheus, or set PROMFLEET_PROMETHEUS)`;
  const ytt = yttBinary();
  if (!ytt || !isExecutable(ytt))
    return `e2e skipped: no ytt binary (set PROMFLEET_YTT, run scripts/install-tools.sh, or put ytt on PATH)`;
  if (!existsSync(overlayFile)) return `e2e skipped: ${overlayFile} is missing`;
  return undefined;
}
