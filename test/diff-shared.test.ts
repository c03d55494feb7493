/**
 * diff after a fleet-wide change (values read by src/validate/fast-yaml.ts): a cluster whose
 * shared-looking part changed differently is still described in its own terms.
 */
import { describe, expect, it } from "vitest";
import { committedRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

const AGENTS = ["edge-1", "edge-2", "edge-3", "edge-4"];

type ClusterDiff = { cluster: string; status: string; changes: string[] };

describe("diff after a fleet-wide change, where clusters share most of their values", () => {
  it("describes each cluster's own change beside the shared one", async () => {
    const dir = (await secureFleetRepo({ agents: AGENTS })).dir;
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    await committedRepo(dir);

    await writeRepoFile(
      dir,
      "overlays/fleet/interval.yaml",
      "#@ def overlay_for(cluster):\nprometheus:\n  config:\n    prometheus_yml:\n      global:\n        scrape_interval: 45s\n#@ end\n",
    );
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", `${spec}overlays: [overlays/fleet/interval.yaml]\n`);
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    // two clusters' scrape_configs edited alike, another's differently: each one's own words
    for (const [cluster, from, to] of [
      ["edge-2", "scrape_interval: 5s\n", "scrape_interval: 6s\n"],
      ["edge-4", "scrape_interval: 5s\n", "scrape_interval: 6s\n"],
      ["edge-3", "job_name: prometheus\n", "job_name: prometheus-self\n"],
    ] as const) {
      const file = `clusters/${cluster}/values.yaml`;
      const text = await readRepoFile(dir, file);
      expect(text).toContain(from);
      await writeRepoFile(dir, file, text.replace(from, to));
    }

    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const diffs = (JSON.parse(r.stdout) as { clusters: ClusterDiff[] }).clusters;
    const valuesChanges = (c: string) =>
      diffs.find((d) => d.cluster === c)?.changes.filter((x) => !x.startsWith("manifests/"));
    const shared = "prometheus.yml global.scrape_interval: 1m → 45s";
    const ownJob = "scrape job prometheus changed: scrape_interval";
    expect(diffs.map((d) => d.cluster)).toEqual(["edge-1", "edge-2", "edge-3", "edge-4", "orbstack"]);
    expect(valuesChanges("edge-1")).toEqual([shared]);
    expect(valuesChanges("edge-2")).toEqual([ownJob, shared]);
    expect(valuesChanges("edge-3")).toEqual([
      "scrape job prometheus-self added",
      "scrape job prometheus removed",
      shared,
    ]);
    expect(valuesChanges("edge-4")).toEqual([ownJob, shared]);
  });
});
