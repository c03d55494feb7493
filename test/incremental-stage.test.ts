import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import { stageFleet } from "../src/ytt/stage.js";
import { exampleFleetRepo, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

const overlay = "#@ def overlay_for(cluster):\n{}\n#@ end\n";

describe("ytt chunks", () => {
  it("group clusters by overlay stack and stage only the overlays their clusters use", async () => {
    const dir = await exampleFleetRepo();
    await writeRepoFile(dir, "overlays/clusters/a.yaml", overlay);
    await writeRepoFile(dir, "overlays/clusters/b.yaml", overlay);
    const agent = (name: string, own?: string) =>
      `  - name: ${name}\n    role: agent\n${own ? `    overlays: [overlays/clusters/${own}.yaml]\n` : ""}`;
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec + agent("e1", "a") + agent("e2", "b") + agent("e3", "a") + agent("e4", "b") + agent("e5"),
    );
    const fleet = await loadFleet(dir);
    const stage = await stageFleet(fleet, fleet.clusters, [2]);
    try {
      const chunks = await Promise.all(
        stage.chunks.map(async (c) => ({
          clusters: c.clusters.map((x) => x.name),
          staged: (await readdir(path.join(c.dir, "u"))).map((f) => f.replace(/^\d+-/, "")).sort(),
        })),
      );
      // stacks in order of first use: orbstack's, kind's and e5's (role only), a's, b's
      expect(chunks).toEqual([
        {
          clusters: ["orbstack", "kind"],
          staged: ["agent.lib.yaml", "aggregator.lib.yaml", "values.lib.yaml"],
        },
        { clusters: ["e5", "e1"], staged: ["a.lib.yaml", "agent.lib.yaml", "values.lib.yaml"] },
        { clusters: ["e3", "e2"], staged: ["a.lib.yaml", "agent.lib.yaml", "b.lib.yaml", "values.lib.yaml"] },
        { clusters: ["e4"], staged: ["agent.lib.yaml", "b.lib.yaml", "values.lib.yaml"] },
      ]);
      const root = await readFile(path.join(stage.chunks[3]?.dir as string, "root.txt"), "utf8");
      expect(root).not.toContain("a.lib.yaml");
    } finally {
      await stage.cleanup();
    }
  });

  it("are cut to the sizes given, chunk by chunk, the last size repeating", async () => {
    const dir = await exampleFleetRepo();
    const agents = Array.from({ length: 9 }, (_, i) => `  - name: e${i + 1}\n    role: agent\n`);
    await writeRepoFile(dir, "fleet.yaml", (await readRepoFile(dir, "fleet.yaml")) + agents.join(""));
    const fleet = await loadFleet(dir);
    const stage = await stageFleet(fleet, fleet.clusters, [1, 2, 4]);
    try {
      // 11 clusters: the aggregator's stack first (1), then the agents' (10)
      expect(stage.chunks.map((c) => c.clusters.length)).toEqual([1, 2, 4, 4]);
      expect(stage.chunks.flatMap((c) => c.clusters.map((x) => x.name))).toEqual([
        "orbstack",
        "kind",
        ...agents.map((_, i) => `e${i + 1}`),
      ]);
    } finally {
      await stage.cleanup();
    }
  });
});
