import { access, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import type { FleetSpec } from "../src/fleet/spec.js";
import { clusterDataValues } from "../src/render/render.js";
import { runChunks } from "../src/ytt/chunks.js";
import { stageFleet } from "../src/ytt/stage.js";
import { findYtt, runYtt, YttError, type Ytt } from "../src/ytt/ytt.js";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

describe("ytt wrapper", () => {
  it("finds ytt and reads its version", async () => {
    const ytt = await findYtt();
    expect(ytt.version).toMatch(/^(\d+\.\d+\.\d+|develop)$/);
  });

  it("a missing binary says how to install it and exits 3", async () => {
    const dir = await exampleFleetRepo();
    const result = await promfleet(dir, ["render"], { PROMFLEET_YTT: "/nonexistent/ytt" });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("ytt not found (looked for /nonexistent/ytt)");
    expect(result.stderr).toContain("scripts/install-tools.sh ytt");
    expect(result.stderr).toContain("PROMFLEET_YTT");
  });

  it("refuses a ytt older than the features promfleet uses", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-fake-ytt-"));
    const fake = path.join(dir, "ytt");
    await writeFile(fake, "#!/bin/sh\necho 'ytt version 0.30.0'\n", { mode: 0o755 });
    await expect(findYtt({ ...process.env, PROMFLEET_YTT: fake })).rejects.toThrow(
      /ytt 0.30.0 .* is older than 0.44.0/,
    );
  });

  it("stops a ytt run that takes too long", async () => {
    const ytt = await findYtt();
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-slow-"));
    await writeFile(
      path.join(dir, "slow.yaml"),
      "#@ def spin():\n#@   n = 0\n#@   for i in range(1000000000):\n#@     n += i\n#@   end\n#@   return n\n#@ end\n---\nx: #@ spin()\n",
    );
    await expect(runYtt(ytt, { files: [dir], timeoutMs: 300 })).rejects.toThrow(
      /ytt did not finish within 0.3s/,
    );
  });
});

describe("ytt over staged chunks", () => {
  /**
   * The example fleet (orbstack, kind) plus agents e1..e5, kind with an overlay of its own, staged one
   * cluster per chunk: chunks orbstack, kind, then e1..e5.
   */
  async function stagedFleet(kindOverlay: string) {
    const dir = await exampleFleetRepo();
    await writeRepoFile(dir, "overlays/clusters/kind.yaml", kindOverlay);
    const spec = (await readRepoFile(dir, "fleet.yaml")).replace(
      "  - name: kind\n",
      "  - name: kind\n    overlays: [overlays/clusters/kind.yaml]\n",
    );
    const agents = ["e1", "e2", "e3", "e4", "e5"].map((name) => `  - name: ${name}\n    role: agent\n`);
    await writeRepoFile(dir, "fleet.yaml", spec + agents.join(""));
    const fleet = await loadFleet(dir);
    return { spec: fleet, stage: await stageFleet(fleet, fleet.clusters, [1]) };
  }

  /** ytt through a script that counts its runs. */
  async function countingYtt(): Promise<{ ytt: Ytt; runs: () => Promise<number> }> {
    const ytt = await findYtt();
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-count-"));
    const script = path.join(dir, "ytt");
    await writeFile(script, `#!/bin/sh\necho run >> "${dir}/runs"\nexec "${ytt.path}" "$@"\n`, {
      mode: 0o755,
    });
    const runs = async () => (await readFile(path.join(dir, "runs"), "utf8")).split("\n").length - 1;
    return { ytt: { ...ytt, path: script }, runs };
  }

  type Staged = Awaited<ReturnType<typeof stagedFleet>>["stage"];
  type Values = { prometheus: { config: { prometheus_yml: { global: { external_labels?: unknown } } } } };

  const run = (ytt: Ytt, spec: FleetSpec, stage: Staged, finished: string[]) =>
    runChunks({
      ytt,
      stage,
      parallel: 2,
      dataValues: (chunk) => ({
        clusters: chunk.clusters.map((c) => ({
          stack: chunk.stackOf.get(c.name),
          cluster: clusterDataValues(spec, c),
        })),
      }),
      finish: (cluster, values) => {
        finished.push(cluster.name);
        return [cluster.name, (values as Values).prometheus.config.prometheus_yml.global.external_labels];
      },
    });

  it("hands every cluster its own values, in chunk order, whichever ytt run ends first", async () => {
    const { spec, stage } = await stagedFleet("#@ def overlay_for(cluster):\n{}\n#@ end\n");
    try {
      const finished: string[] = [];
      const results = await run(await findYtt(), spec, stage, finished);
      expect(finished).toEqual(["orbstack", "kind", "e1", "e2", "e3", "e4", "e5"]);
      expect(stage.chunks.map((c) => c.clusters.map((x) => x.name))).toEqual(finished.map((n) => [n]));
      for (const [name, labels] of results.slice(1)) expect(labels, String(name)).toEqual({ cluster: name });
    } finally {
      await stage.cleanup();
    }
  });

  it("a failing chunk's ytt error is thrown after the runs under way end; later chunks never start", async () => {
    const { spec, stage } = await stagedFleet(
      "#@ def overlay_for(cluster):\nprometheus:\n  x: #@ cluster.nope\n#@ end\n",
    );
    const { ytt, runs } = await countingYtt();
    try {
      const finished: string[] = [];
      const error = await run(ytt, spec, stage, finished).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(YttError);
      expect((error as YttError).message).toContain("overlays/clusters/kind.yaml:3");
      expect(finished).toEqual(["orbstack"]);
      // kind's chunk is the second of 7, two at a time: at most the third starts before kind's fails
      expect(await runs()).toBeLessThanOrEqual(3);
      await access(stage.dir);
    } finally {
      await stage.cleanup();
    }
  });
});
