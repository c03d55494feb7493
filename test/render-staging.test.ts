/**
 * Render stages each chunk's files in .promfleet/tx/ while later chunks are still in ytt: a run that
 * fails or dies before its journal must still change nothing, and leave nothing the next run keeps.
 */
import { renameSync, watch } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_MARKER } from "../src/layout/names.js";
import { applyPlan, StagedFiles } from "../src/layout/transaction.js";
import { planTree, readClusterTree, treeOfFiles } from "../src/layout/tree.js";
import { exampleFleetRepo, MINIMAL_FLEET, promfleet, writeRepoFile } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

/** More agents than one ytt chunk holds (125 clusters), so the fleet renders in two chunks. */
const AGENTS = 130;
const LAST = `edge-${AGENTS}`;
/** Files render writes per cluster of this fleet: values, bootstrap app, four manifests, the record. */
const FILES_PER_CLUSTER = 7;

/** A fleet (without credentials) of MINIMAL_FLEET's aggregator and agents edge-1..edge-130; `lastOverlay` goes to the last. */
async function twoChunkFleet(lastOverlay?: string): Promise<string> {
  const dir = await exampleFleetRepo();
  const agents = Array.from({ length: AGENTS - 1 }, (_, i) => `  - name: edge-${i + 2}\n    role: agent\n`);
  const own = lastOverlay ? `    overlays: [${lastOverlay}]\n` : "";
  await writeRepoFile(
    dir,
    "fleet.yaml",
    `${MINIMAL_FLEET.replace("clusters:\n", "remoteWrite:\n  auth: none\nclusters:\n")}${agents.join("")}`.replace(
      `  - name: ${LAST}\n    role: agent\n`,
      `  - name: ${LAST}\n    role: agent\n${own}`,
    ),
  );
  return dir;
}

/** Whether `.promfleet/tx` appeared (was created) while `run` ran. */
async function whileWatchingStaging<T>(
  dir: string,
  run: () => Promise<T>,
): Promise<{ result: T; staged: boolean }> {
  await mkdir(path.join(dir, ".promfleet"), { recursive: true });
  let staged = false;
  const watcher = watch(path.join(dir, ".promfleet"), (_event, name) => {
    if (name === "tx") staged = true;
  });
  try {
    return { result: await run(), staged };
  } finally {
    watcher.close();
  }
}

/**
 * A ytt that, asked to evaluate the second chunk, waits until the first chunk's files are being staged
 * and then kills promfleet (its parent): a render that dies after staging, before its journal.
 */
async function yttKillingAtSecondChunk(fleetDir: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-kill-"));
  const script = path.join(dir, "ytt");
  const tx = JSON.stringify(path.join(fleetDir, ".promfleet", "tx"));
  await writeFile(
    script,
    `#!/bin/sh
case "$*" in *fleet-values-1.json*)
  while [ ! -d ${tx} ]; do sleep 0.05; done
  kill -9 "$PPID"; exit 1;;
esac
exec ${JSON.stringify(toolPath("ytt"))} "$@"
`,
  );
  await chmod(script, 0o755);
  return { PROMFLEET_YTT: script };
}

describe("files staged while rendering", () => {
  it("a ytt error in a later chunk, after the first chunk's files were staged: exit 2, nothing written, staging removed", async () => {
    const overlay = `overlays/clusters/${LAST}/broken.yaml`;
    const dir = await twoChunkFleet(overlay);
    await writeRepoFile(dir, overlay, '#@ def overlay_for(cluster):\n#@   fail("boom")\n#@ end\n');
    const { result, staged } = await whileWatchingStaging(dir, () => promfleet(dir, ["render"]));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(overlay);
    expect(result.stderr).toContain("boom");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(staged).toBe(true);
    expect(await readdir(dir)).not.toContain("clusters");
    expect(await readdir(path.join(dir, ".promfleet"))).toEqual([]);
  });

  it("a render killed after staging, before its journal, changed nothing; the next run discards the staging and renders", async () => {
    const dir = await twoChunkFleet();
    const killed = await promfleet(dir, ["render"], await yttKillingAtSecondChunk(dir));
    expect(killed.code).toBe(-1); // no exit code: killed by a signal
    const left = await readdir(path.join(dir, ".promfleet", "tx"));
    expect(left.length).toBeGreaterThan(0);
    expect(left).not.toContain("journal.json");
    expect(await readdir(dir)).not.toContain("clusters");

    expect((await promfleet(dir, ["render", "--check"])).code).toBe(1);
    const rerun = await promfleet(dir, ["render", "--json"]);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).not.toContain("finished the file moves");
    const tree = readClusterTree(dir);
    expect(tree.size).toBe((AGENTS + 1) * FILES_PER_CLUSTER);
    expect(JSON.parse(rerun.stdout).created).toEqual([...tree.keys()]);
    expect(await readdir(path.join(dir, ".promfleet"))).toEqual([]);
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
  });

  it("stages only files that differ from the tree, and applyPlan moves exactly those", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-staged-"));
    const same = `${GENERATED_MARKER}\nsame\n`;
    await writeRepoFile(dir, "clusters/a/same.yaml", same);
    await writeRepoFile(dir, "clusters/a/old.yaml", `${GENERATED_MARKER}\nold\n`);
    const tree = readClusterTree(dir);
    const desired = new Map([
      ["clusters/a/same.yaml", same],
      ["clusters/a/old.yaml", `${GENERATED_MARKER}\nnew\n`],
      ["clusters/b/added.yaml", `${GENERATED_MARKER}\nadded\n`],
    ]);
    const staged = new StagedFiles(dir, treeOfFiles(tree));
    staged.offer(desired);
    const txDir = path.join(dir, ".promfleet", "tx");
    expect((await readdir(txDir)).length).toBe(2);
    const plan = await planTree(dir, desired, tree);
    expect([plan.update, plan.create, plan.unchanged]).toEqual([
      ["clusters/a/old.yaml"],
      ["clusters/b/added.yaml"],
      1,
    ]);
    await applyPlan(dir, plan, renameSync, staged);
    expect(readClusterTree(dir)).toEqual(new Map([...desired].sort(([x], [y]) => (x < y ? -1 : 1))));
    expect(await readdir(path.join(dir, ".promfleet"))).toEqual([]);
    staged.discard(); // after the journal: nothing to discard, and no error
  });
});
