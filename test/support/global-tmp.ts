import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Every test's temporary files (fleet repositories, bare git remotes, Prometheus data) go under one
 * folder per run, removed when the run ends; PROMFLEET_KEEP_TEST_TMP=1 keeps it for a post-mortem.
 * Forked test workers inherit TMPDIR, and os.tmpdir() reads it on every call.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "promfleet-tests-"));
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.PROMFLEET_KEEP_TEST_TMP === "1") console.log(`test files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
