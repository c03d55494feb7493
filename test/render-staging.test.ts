/**
 * Render stages each chunk's files in .promfleet/tx/ while later chunks are still in ytt: a run that
 * fails or dies before its journal must still change nothing, and leave nothing the next run keeps.
 */
import { mkdirSync, renameSync, watch, writeFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_MARKER } from "../src/layout/names.js";
import { execa } from "execa";
import { loadFleet } from "../src/fleet/load.js";
import { applyPlan, recoverInterrupted, StagedFiles } from "../src/layout/transaction.js";
import { planTree, readClusterTree, scanClusterTree, treeOfFiles } from "../src/layout/tree.js";
import { readRenderInputs, renderChanged } from "../src/render/render.js";
import { exampleFleetRepo, MINIMAL_FLEET, promfleet, writeRepoFile } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

/** More agents than the first ytt chunk holds (64 clusters), and fewer than two (192): two chunks. */
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

/** Git's own blob id of a file (the expected value, not promfleet's). */
async function gitHashObject(file: string): Promise<string> {
  return (await execa("git", ["hash-object", "--no-filters", file])).stdout.trim();
}

/** A folder with one managed file, clusters/a/old.yaml; and what a render wants: a changed, plus new b and c. */
async function treeWithNewFolders() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-staged-"));
  await writeRepoFile(dir, "clusters/a/old.yaml", `${GENERATED_MARKER}\nold\n`);
  const desired = new Map([
    ["clusters/a/old.yaml", `${GENERATED_MARKER}\nnew\n`],
    ["clusters/b/values.yaml", `${GENERATED_MARKER}\nb\n`],
    ["clusters/b/manifests/x.yaml", `${GENERATED_MARKER}\nbx\n`],
    ["clusters/c/values.yaml", `${GENERATED_MARKER}\nc\n`],
  ]);
  return { dir, desired, tree: readClusterTree(dir) };
}

const sorted = (files: Map<string, string>) => new Map([...files].sort(([x], [y]) => (x < y ? -1 : 1)));

/** A mover that records each move (repository-relative target) before doing it. */
function recordingMover(dir: string, moved: string[], before: (target: string) => void = () => {}) {
  return (staged: string, target: string) => {
    moved.push(path.relative(dir, target));
    before(target);
    renameSync(staged, target);
  };
}

describe("staging a cluster folder the tree does not have", () => {
  it("stages it as a folder and moves it into place with one rename; the plan carries blob ids, not texts", async () => {
    const { dir, desired, tree } = await treeWithNewFolders();
    const staged = new StagedFiles(dir, treeOfFiles(tree));
    const ids = staged.offer(desired);
    const plan = await planTree(dir, ids, tree);
    expect([plan.update, plan.create]).toEqual([
      ["clusters/a/old.yaml"],
      ["clusters/b/manifests/x.yaml", "clusters/b/values.yaml", "clusters/c/values.yaml"],
    ]);
    const moved: string[] = [];
    await applyPlan(dir, plan, recordingMover(dir, moved), staged);
    expect(moved.sort()).toEqual(["clusters/a/old.yaml", "clusters/b", "clusters/c"]);
    expect(readClusterTree(dir)).toEqual(sorted(desired));
    expect(await readdir(path.join(dir, ".promfleet"))).toEqual([]);
    for (const [rel, id] of ids) expect(id.blobId, rel).toBe(await gitHashObject(path.join(dir, rel)));
  });

  it("a folder made at the target after staging is merged into, file by file, keeping what is there", async () => {
    const { dir, desired, tree } = await treeWithNewFolders();
    const staged = new StagedFiles(dir, treeOfFiles(tree));
    const plan = await planTree(dir, staged.offer(desired), tree);
    await writeRepoFile(dir, "clusters/b/notes.txt", "a person's notes\n");
    const moved: string[] = [];
    await applyPlan(dir, plan, recordingMover(dir, moved), staged);
    expect(moved).toContain("clusters/b/values.yaml");
    expect(moved).not.toContain("clusters/b");
    expect(readClusterTree(dir)).toEqual(
      sorted(new Map([...desired, ["clusters/b/notes.txt", "a person's notes\n"]])),
    );
  });

  it("a folder that appears between the journal and its move is merged into by the move itself", async () => {
    const { dir, desired, tree } = await treeWithNewFolders();
    const staged = new StagedFiles(dir, treeOfFiles(tree));
    const plan = await planTree(dir, staged.offer(desired), tree);
    const moved: string[] = [];
    const makeC = (target: string) => {
      if (path.relative(dir, target) !== "clusters/c") return;
      mkdirSync(target);
      writeFileSync(path.join(target, "keep.txt"), "kept\n");
    };
    await applyPlan(dir, plan, recordingMover(dir, moved, makeC), staged);
    expect(moved).toContain("clusters/c");
    expect(moved).toContain("clusters/c/values.yaml");
    expect(readClusterTree(dir)).toEqual(sorted(new Map([...desired, ["clusters/c/keep.txt", "kept\n"]])));
  });

  it("a move failing after the journal leaves the rest to the next run, folders included", async () => {
    const { dir, desired, tree } = await treeWithNewFolders();
    const staged = new StagedFiles(dir, treeOfFiles(tree));
    const plan = await planTree(dir, staged.offer(desired), tree);
    let moves = 0;
    const failing = (from: string, to: string) => {
      if (++moves === 2) throw Object.assign(new Error("EIO: i/o error, rename"), { code: "EIO", path: to });
      renameSync(from, to);
    };
    await expect(applyPlan(dir, plan, failing, staged)).rejects.toThrow(
      /1 of 3 files or new folders were moved into place/,
    );
    expect(await readdir(path.join(dir, ".promfleet", "tx"))).toContain("journal.json");
    expect(await recoverInterrupted(dir)).toBe(true);
    expect(readClusterTree(dir)).toEqual(sorted(desired));
    expect(await readdir(path.join(dir, ".promfleet"))).toEqual([]);
  });
});

describe("a render that stages as it goes", () => {
  it("keeps blob ids, not texts, for the files it staged: git's ids of the files written", async () => {
    const dir = await exampleFleetRepo();
    const spec = await loadFleet(dir);
    const tree = await scanClusterTree(dir);
    const staged = new StagedFiles(dir, tree);
    const { fleet } = await renderChanged(
      spec,
      await readRenderInputs(spec, tree),
      tree,
      undefined,
      undefined,
      (r) => staged.offer(r.files, r.blobIds),
    );
    expect(fleet.files.size).toBe(0);
    expect(fleet.values.size).toBe(0);
    const plan = await planTree(dir, fleet.staged, tree);
    await applyPlan(dir, plan, renameSync, staged);
    const written = readClusterTree(dir);
    expect([...fleet.staged.keys()].sort()).toEqual([...written.keys()]);
    for (const [rel, id] of fleet.staged)
      expect(id.blobId, rel).toBe(await gitHashObject(path.join(dir, rel)));
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
    expect(await readFile(path.join(dir, "clusters/kind/values.yaml"), "utf8")).toContain(GENERATED_MARKER);
  });
});
