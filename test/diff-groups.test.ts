/**
 * Each group of clusters lists its own folders at the ref (src/diff/group.ts), and the clusters only the
 * ref has are listed apart and compared last (src/diff/stream.ts): on a fleet large enough for worker
 * threads, they are still reported in cluster order, with git's line counts, and a folder whose name git
 * could read as a pattern is listed as itself.
 */
import { execa } from "execa";
import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  agentNames,
  expectGitLineCounts,
  renderedFleetWithAgents,
  type CountedDiff,
} from "./helpers/diff-fleet.js";
import { committedRepo, promfleet, readRepoFile, repoRoot, writeRepoFile } from "./helpers/fleet-repo.js";

const AGENTS = agentNames(110);

describe("diff of a fleet in groups", () => {
  it("reports clusters only the ref has in cluster order, and names git could read as patterns as they are", async () => {
    const { dir } = await renderedFleetWithAgents(AGENTS);
    // as patterns, `[e]dge-x` would name the folder edge-x (there is none) and `*` every folder
    await writeRepoFile(dir, "clusters/[e]dge-x/values.yaml", "a: 1\n");
    await writeRepoFile(dir, "clusters/*/values.yaml", "a: 1\n");
    const git = await committedRepo(dir);

    for (const gone of ["edge-007", "edge-109", "kind"])
      await rm(path.join(dir, "clusters", gone), { recursive: true });
    await writeRepoFile(dir, "clusters/*/values.yaml", "a: 2\n");
    const app = "clusters/edge-050/bootstrap/app.yaml";
    await writeRepoFile(dir, app, (await readRepoFile(dir, app)).replace("syncPeriod: 1m", "syncPeriod: 2m"));

    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const diffs = (JSON.parse(r.stdout) as { clusters: CountedDiff[] }).clusters;
    expect(diffs.map((d) => [d.cluster, d.status])).toEqual([
      ["*", "changed"],
      ["edge-007", "removed"],
      ["edge-050", "changed"],
      ["edge-109", "removed"],
      ["kind", "removed"],
    ]);
    expect(diffs[0]?.changes).toEqual(["value a: 1 → 2"]);
    expect(diffs[1]?.changes).toContain("deleted values.yaml");
    expect(diffs[2]?.changes).toEqual([
      "bootstrap/app.yaml: App promfleet-edge-050 spec.syncPeriod: 1m → 2m",
    ]);

    await expectGitLineCounts(git, diffs);
  });

  it("compares on the main thread what a worker thread that fails or stops leaves", async () => {
    const { dir, spec, entries: agents } = await renderedFleetWithAgents(AGENTS);
    await committedRepo(dir);
    await writeRepoFile(
      dir,
      "fleet.yaml",
      `${spec}${agents.replaceAll("role: agent\n", "role: agent\n    retention: 10m\n")}`,
    );
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const args = ["diff", "--base", "HEAD", "--format", "json"];
    const expected = await promfleet(dir, args);
    expect(expected.code, expected.stderr).toBe(0);
    expect((JSON.parse(expected.stdout) as { clusters: unknown[] }).clusters).toHaveLength(AGENTS.length);

    // the built CLI beside a worker that cannot start, and one that exits once it has a batch
    const cli = await mkdtemp(path.join(os.tmpdir(), "promfleet-cli-"));
    for (const part of ["bin", "dist", "package.json"])
      await cp(path.join(repoRoot, part), path.join(cli, part), { recursive: true });
    await symlink(path.join(repoRoot, "node_modules"), path.join(cli, "node_modules"));
    const workers = [
      'throw new Error("no worker");',
      'import { parentPort } from "node:worker_threads";\nparentPort.on("message", () => setTimeout(() => process.exit(3), 20));',
    ];
    for (const worker of workers) {
      await writeFile(path.join(cli, "dist", "bundle", "diff-worker.js"), worker); // the worker bin/ starts
      const r = await execa("node", [path.join(cli, "bin", "promfleet.js"), "-C", dir, ...args], {
        reject: false,
      });
      expect({ worker, code: r.exitCode, stdout: r.stdout }).toEqual({
        worker,
        code: 0,
        stdout: expected.stdout,
      });
    }
  });
});
