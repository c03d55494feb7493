/**
 * A fleet of a few hundred clusters is compared in groups shared between the main thread and worker
 * threads (src/diff/stream.ts): the result is the whole fleet's, in cluster order, with each cluster's
 * own change and line counts, whichever thread compared it.
 */
import { describe, expect, it } from "vitest";
import {
  agentNames,
  expectGitLineCounts,
  renderedFleetWithAgents,
  type CountedDiff,
} from "./helpers/diff-fleet.js";
import { committedRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

const AGENTS = agentNames(150);

describe("diff of a fleet compared by several threads", () => {
  it("reports every cluster's change, in cluster order, with git's line counts", async () => {
    const { dir, spec, entries: agents } = await renderedFleetWithAgents(AGENTS);
    const git = await committedRepo(dir);

    // every agent's retention changes; one agent, late in the order, is also edited by hand
    await writeRepoFile(
      dir,
      "fleet.yaml",
      `${spec.replace("retention: 5m", "retention: 10m")}${agents.replaceAll("role: agent\n", "role: agent\n    retention: 10m\n")}`,
    );
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const edited = "clusters/edge-140/bootstrap/app.yaml";
    await writeRepoFile(
      dir,
      edited,
      (await readRepoFile(dir, edited)).replace("syncPeriod: 1m", "syncPeriod: 2m"),
    );

    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const diffs = (JSON.parse(r.stdout) as { clusters: CountedDiff[] }).clusters;
    expect(diffs.map((d) => d.cluster)).toEqual([...AGENTS, "kind"]);
    const retention = "retention 5m → 10m (--storage.agent.retention.max-time)";
    for (const d of diffs) expect(d.changes[0], d.cluster).toBe(retention);
    expect(diffs.find((d) => d.cluster === "edge-140")?.changes).toEqual([
      retention,
      "bootstrap/app.yaml: App promfleet-edge-140 spec.syncPeriod: 1m → 2m",
      "manifests/values-secret.yaml: carries the new values.yaml",
    ]);
    await expectGitLineCounts(git, diffs);
  });
});
