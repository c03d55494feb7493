/**
 * npm run bench itself (its figures are printed, never asserted): on a small generated fleet it measures
 * the rows it is asked for, and --compare benches a commit's own build beside this one and leaves no
 * worktree or fleet behind. The commit is HEAD, which every clone has (a shallow one too): an older
 * commit such as 7b49ca6, whose CLI has no --changed-since and gets n/a there, is not in every clone.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/fleet-repo.js";

const BENCH = path.join(repoRoot, "scripts", "bench.mjs");

/** Runs the bench on a 12-cluster fleet in a temporary folder; `left` is what it left there. */
async function bench(args: string[]) {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "bench-test-"));
  const argv = [BENCH, "--clusters", "12", "--runs", "1", "--baseline-sample", "3", ...args];
  const result = await execa("node", argv, { cwd: repoRoot, env: { TMPDIR: tmp }, reject: false });
  const left = await readdir(tmp);
  await rm(tmp, { recursive: true, force: true });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr, left };
}

const worktrees = async () =>
  (await execa("git", ["-C", repoRoot, "worktree", "list", "--porcelain"])).stdout;

/** The table's cells (after the label) of the row whose label starts with `label`. */
function cells(stdout: string, label: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`| ${label}`));
  expect(line, `row ${label}`).toBeDefined();
  return (line as string)
    .split("|")
    .map((cell) => cell.trim())
    .slice(2, -1);
}

/** Peak memory comes from GNU time (.ci/run installs it); without it the bench prints n/a. */
const PEAK = existsSync("/usr/bin/time") ? "\\d+ MiB" : "n/a";
const FIGURE = new RegExp(
  `^\\d+\\.\\d\\d s \\(\\d+\\.\\d\\d–\\d+\\.\\d\\d; CPU \\d+\\.\\d\\d s, sys \\d+\\.\\d\\d\\), ${PEAK}$`,
);

describe("npm run bench", () => {
  it("measures the rows asked for, the loops beside them, and compares with a commit's build", async () => {
    const before = await worktrees();
    const r = await bench(["--only", "nochange,changed,loop", "--compare", "HEAD"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("| operation | 12 clusters | 12 clusters, HEAD |");
    for (const row of ["full render", "no-change render", "`validate --changed-since`"]) {
      const [mine, theirs] = cells(r.stdout, row);
      expect(mine, row).toMatch(FIGURE);
      expect(theirs, row).toMatch(FIGURE);
    }
    // the loops run ytt alone, whichever build: measured once, in this build's column
    expect(cells(r.stdout, "baseline: shell loop")).toEqual([expect.stringMatching(FIGURE), "—"]);
    expect(r.stdout).not.toContain("`render --check`"); // not asked for
    const files = /^12: full render: (\d+) files written$/m.exec(r.stdout);
    expect(Number(files?.[1])).toBeGreaterThan(12);
    expect(r.stdout).toMatch(/^12: full render: \d+\.\d\d× the time of HEAD$/m);
    expect(r.left).toEqual([]);
    expect(await worktrees()).toBe(before);
  }, 240_000);

  it("refuses a ref that is no commit, naming it, and leaves nothing behind", async () => {
    const before = await worktrees();
    const r = await bench(["--only", "full", "--compare", "no-such-ref-anywhere"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bench: --compare no-such-ref-anywhere: not a commit of this repository");
    expect(r.stdout).not.toContain("| operation");
    expect(r.left).toEqual([]);
    expect(await worktrees()).toBe(before);
  });
});
