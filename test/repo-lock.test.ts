/**
 * One writer at a time: a command that writes the working tree holds .promfleet/lock. Without it, a
 * second render discarded the first one's staged files as an interrupted run's, and the first reported
 * success with cluster folders missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_FILE, lockRepo, withRepoLock } from "../src/layout/repo-lock.js";
import { readClusterTree } from "../src/layout/tree.js";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo, toolPath } from "./helpers/secure-fleet.js";

/** A ytt that, asked to render (not for its version), says so in `started` and waits for `go`. */
async function yttWaitingFor(
  dir: string,
): Promise<{ env: Record<string, string>; started: string; go: string }> {
  const started = path.join(dir, "started");
  const go = path.join(dir, "go");
  const script = path.join(dir, "ytt");
  await writeFile(
    script,
    `#!/bin/sh
case "$1" in version) ;; *)
  touch ${JSON.stringify(started)}
  while [ ! -e ${JSON.stringify(go)} ]; do sleep 0.05; done;;
esac
exec ${JSON.stringify(toolPath("ytt"))} "$@"
`,
  );
  await chmod(script, 0o755);
  return { env: { PROMFLEET_YTT: script }, started, go };
}

async function until(file: string): Promise<void> {
  for (let i = 0; i < 600 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(file)) throw new Error(`${file} did not appear`);
}

/** The pid of a process that has exited (and so is on no process list of this host). */
function deadPid(): number {
  const child = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(child.stdout.trim());
}

const lockText = (holder: { pid: number; host: string }) =>
  `${JSON.stringify({ ...holder, command: "render", since: "2026-11-26T00:00:00.000Z" })}\n`;

describe("the repository lock, through the CLI", () => {
  it("while a render writes, a second render and an onboard-cluster exit 5 and change nothing; --check still runs; the first completes", async () => {
    const { dir } = await secureFleetRepo();
    const ytt = await yttWaitingFor(await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-wait-")));
    const first = promfleet(dir, ["render", "--json"], ytt.env);
    await until(ytt.started);
    const spec = await readRepoFile(dir, "fleet.yaml");

    const second = await promfleet(dir, ["render"]);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain("another promfleet is writing this repository");
    expect(second.stderr).toMatch(/promfleet render \(pid \d+ on /);
    expect(second.stderr).toContain(`remove ${LOCK_FILE}`);
    const onboard = await promfleet(dir, ["onboard-cluster", "edge-1"]);
    expect(onboard.code).toBe(5);
    expect(await readRepoFile(dir, "fleet.yaml")).toBe(spec);
    expect(existsSync(path.join(dir, ".promfleet", "credentials", "edge-1.password"))).toBe(false);
    // read-only commands take no lock: nothing is rendered yet, so the check reports drift
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(1);

    await writeFile(ytt.go, "");
    const done = await first;
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout).created.length).toBe(readClusterTree(dir).size);
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
  });

  it("takes over a lock whose process is gone from this host, and removes it when done", async () => {
    const { dir } = await secureFleetRepo();
    await writeRepoFile(dir, LOCK_FILE, lockText({ pid: deadPid(), host: os.hostname() }));
    const run = await promfleet(dir, ["render"]);
    expect(run.code).toBe(0);
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
    expect(await readdir(path.join(dir, ".promfleet"))).not.toContain("lock");
  });

  it("leaves another host's lock alone (its process cannot be looked up) and says how to remove it", async () => {
    const { dir } = await secureFleetRepo();
    const foreign = lockText({ pid: deadPid(), host: `not-${os.hostname()}` });
    await writeRepoFile(dir, LOCK_FILE, foreign);
    const run = await promfleet(dir, ["rotate-credential", "kind"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`on not-${os.hostname()}`);
    expect(await readRepoFile(dir, LOCK_FILE)).toBe(foreign);
    expect(readClusterTree(dir).size).toBe(0);
  });
});

describe("the repository lock, in one process", () => {
  it("is taken once per process: a nested writer shares it, and the outer release removes it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-lock-"));
    const lock = path.join(dir, LOCK_FILE);
    await withRepoLock(dir, "render", async () => {
      expect(existsSync(lock)).toBe(true);
      const inner = lockRepo(dir, "onboard-cluster");
      inner();
      expect(existsSync(lock)).toBe(true);
    });
    expect(existsSync(lock)).toBe(false);
  });

  it("a failing writer releases the lock; a lock someone else holds by then is not removed", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-lock-"));
    const lock = path.join(dir, LOCK_FILE);
    await expect(
      withRepoLock(dir, "render", () => Promise.reject(new Error("render failed"))),
    ).rejects.toThrow("render failed");
    expect(existsSync(lock)).toBe(false);

    const other = lockText({ pid: process.pid, host: `not-${os.hostname()}` });
    await withRepoLock(dir, "render", async () => {
      await writeFile(lock, other); // taken over meanwhile (as if this run's process had looked gone)
    });
    expect(await readRepoFile(dir, LOCK_FILE)).toBe(other);
    await expect(withRepoLock(dir, "render", async () => undefined)).rejects.toMatchObject({ exitCode: 5 });
  });
});
