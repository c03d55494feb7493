import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const KEEP_MARKER = ".keep";

/**
 * Every test's temporary files (fleet repositories, bare git remotes, Prometheus data) go under one
 * folder per run, removed when the run ends; PROMFLEET_KEEP_TEST_TMP=1 keeps it for a post-mortem.
 * Forked test workers inherit TMPDIR, and os.tmpdir() reads it on every call.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "promfleet-tests-"));
  process.env.TMPDIR = dir;
  return () => {
    const asked = existsSync(path.join(dir, KEEP_MARKER));
    if (asked || process.env.PROMFLEET_KEEP_TEST_TMP === "1")
      console.log(`test files kept in ${dir}${asked ? " (a failed test keeps its logs there)" : ""}`);
    else rmSync(dir, { recursive: true, force: true });
  };
}

/** Called by a test that keeps files for a post-mortem (a failed end-to-end run): the run's folder stays. */
export function keepTestFiles(): void {
  writeFileSync(path.join(os.tmpdir(), KEEP_MARKER), "");
}
