import { existsSync, renameSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import { applyPlan, type MoveFile } from "../src/layout/transaction.js";
import { planTree, readClusterTree } from "../src/layout/tree.js";
import { readRenderInputs, renderFleet } from "../src/render/render.js";
import { PromfleetError } from "../src/util/errors.js";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { skipOrFail } from "./support/prerequisites.js";

/** What `promfleet render` writes for the example fleet (the article's aggregator and agent): five files and the render record each. */
const EXAMPLE_FILE_COUNT = 12;

/**
 * Makes a folder read-only for this process. Tests run as root here, and root ignores permission bits,
 * so as root the folder is made immutable (`chattr +i`): the kernel refuses every change to it, to root
 * too, with EPERM, exactly as a read-only mount (EROFS) or a folder owned by someone else (EACCES) would
 * refuse a normal user. Returns the undo.
 */
async function readOnly(ctx: { skip: (note?: string) => void }, dir: string): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    await execa("chmod", ["a-w", dir]);
    return async () => void (await execa("chmod", ["u+w", dir]));
  }
  const set = await execa("chattr", ["+i", dir], { reject: false });
  if (set.exitCode !== 0)
    skipOrFail(ctx, `chattr +i failed here (${set.stderr.trim()}); cannot make a folder read-only for root`);
  return async () => void (await execa("chattr", ["-i", dir]));
}

async function changeSyncPeriod(dir: string): Promise<void> {
  const spec = await readRepoFile(dir, "fleet.yaml");
  await writeRepoFile(dir, "fleet.yaml", spec.replace("syncPeriod: 1m", "syncPeriod: 2m"));
}

const txDir = (dir: string) => path.join(dir, ".promfleet", "tx");

describe("file-system failures while writing clusters/", () => {
  it("a read-only folder: exit 2 naming it and the fix, no file moved, no journal left", async (ctx) => {
    const dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    await changeSyncPeriod(dir); // changes bootstrap/app.yaml of both clusters
    const before = readClusterTree(dir);
    // orbstack sorts after kind: a render that moved files in order would update kind, then fail.
    const locked = path.join(dir, "clusters", "orbstack", "bootstrap");
    const unlock = await readOnly(ctx, locked);
    try {
      const result = await promfleet(dir, ["render"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("clusters/orbstack/bootstrap: folder is not writable");
      expect(result.stderr).toContain("fix:");
      expect(result.stderr).toContain("nothing was written");
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(readClusterTree(dir)).toEqual(before);
      expect(existsSync(txDir(dir))).toBe(false);
    } finally {
      await unlock();
    }
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    for (const cluster of ["kind", "orbstack"])
      expect(await readRepoFile(dir, `clusters/${cluster}/bootstrap/app.yaml`)).toContain("syncPeriod: 2m");
  });

  it("a file where a cluster's folder must go: exit 2 naming it, nothing written", async () => {
    const dir = await exampleFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec + "  - name: edge-1\n    role: agent\n    retention: 5m\n");
    await writeRepoFile(dir, "clusters/edge-1", "a person's notes\n");
    const result = await promfleet(dir, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters/edge-1: is a file, so promfleet cannot make the folder");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect([...readClusterTree(dir).keys()]).toEqual(["clusters/edge-1"]);
    expect(existsSync(txDir(dir))).toBe(false);
  });

  it("a move that fails mid-apply keeps the journal, says so, and the next run finishes it", async () => {
    const dir = await exampleFleetRepo();
    const spec = await loadFleet(dir);
    const plan = await planTree(dir, (await renderFleet(spec, await readRenderInputs(spec))).files);
    let moves = 0;
    const failThird: MoveFile = (staged, target) => {
      if (++moves === 3)
        throw Object.assign(new Error(`EIO: i/o error, rename '${staged}'`), { code: "EIO" });
      renameSync(staged, target);
    };
    const error = await applyPlan(dir, plan, failThird).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromfleetError);
    expect((error as PromfleetError).exitCode).toBe(2);
    expect((error as PromfleetError).message).toContain(
      `2 of ${EXAMPLE_FILE_COUNT} files or new folders were moved into place`,
    );
    expect((error as PromfleetError).problems[0]?.fix).toContain("run promfleet render again");
    expect(readClusterTree(dir).size).toBe(2);
    expect(existsSync(path.join(txDir(dir), "journal.json"))).toBe(true);

    const rerun = await promfleet(dir, ["render"]);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain("finished the file moves of an interrupted render");
    expect(rerun.stdout).toBe(`up to date (${EXAMPLE_FILE_COUNT} files)`);
    expect(existsSync(txDir(dir))).toBe(false);
  });
});
