/**
 * The spec side of waves: labels, waves, per-cluster package pins and staged overlays; the errors a user
 * gets for wrong waves; what render shows for a fleet that is half on one version and half on another.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseFleet } from "../src/fleet/load.js";
import {
  exampleFleetRepo,
  fixturesDir,
  promfleet,
  readRepoFile,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { WAVE_FLEET } from "./helpers/wave-fleet.js";
import { problemsOf } from "./helpers/spec-problems.js";

const withWaves = (waves: string) => WAVE_FLEET.replace(/waves:\n(?: {2}.*\n)+/, `waves:\n${waves}`);

describe("waves in the spec", () => {
  it("accepts names, globs, labels and * and completes them in order", async () => {
    const spec = await parseFleet(WAVE_FLEET, "/nonexistent", "fleet.yaml");
    expect(spec.waves.map((w) => w.name)).toEqual(["canary", "early", "rest"]);
    expect(spec.clusters.find((c) => c.name === "kind")?.labels).toEqual({ tier: "dev" });
  });

  it.each([
    [
      "a name that is no cluster",
      withWaves('  - name: canary\n    clusters: [edge-9]\n  - name: rest\n    clusters: [orbstack, "*"]\n'),
      { path: "waves[0].clusters", line: 12 },
      /names cluster "edge-9", which is not in the fleet/,
      /correct the name/,
    ],
    [
      "a wave whose labels select nothing",
      withWaves(
        '  - name: early\n    labels: { tier: prod }\n  - name: rest\n    clusters: [orbstack, "*"]\n',
      ),
      { path: "waves[0]", line: 11 },
      /wave early selects no cluster/,
      /labels/,
    ],
    [
      "a cluster two waves select",
      withWaves(
        '  - name: canary\n    clusters: [edge-*]\n  - name: more\n    clusters: [edge-2, orbstack, "*"]\n',
      ),
      { path: "waves[1]" },
      /cluster edge-2 is selected by more than one wave \(canary and more\)/,
      /exactly one wave/,
    ],
    [
      "a cluster no wave selects",
      withWaves("  - name: canary\n    clusters: [edge-1, kind, orbstack]\n"),
      { path: "clusters[3]", line: 23 },
      /cluster edge-2 is in no wave/,
      /"\*"/,
    ],
    [
      "an aggregator placed only by *",
      withWaves('  - name: canary\n    clusters: [edge-1]\n  - name: rest\n    clusters: ["*"]\n'),
      { path: "clusters[0]" },
      /the aggregator orbstack is not named in any wave/,
      /add orbstack by name/,
    ],
    [
      "a rollout naming an unknown wave",
      WAVE_FLEET + "rollout:\n  packageVersion: 2.45.0\n  wave: final\n",
      { path: "rollout.wave" },
      /rollout.wave "final" is not a wave of this fleet/,
      /canary, early, rest/,
    ],
  ])("rejects %s, naming file, field and fix", async (_what, text, where, message, fix) => {
    const problems = await problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "fleet.yaml", ...where });
    expect(problems[0]?.message).toMatch(message);
    expect(problems[0]?.fix).toMatch(fix);
  });

  it("rejects a glob that is no glob of cluster names, with the pattern explained", async () => {
    const problems = await problemsOf(withWaves("  - name: canary\n    clusters: [Edge_1]\n"));
    expect(problems[0]).toMatchObject({ path: "waves[0].clusters[0]" });
    expect(problems[0]?.fix).toMatch(/glob over cluster names/);
  });
});

describe("a fleet half on one version, half on another", () => {
  it("renders each cluster's PackageInstall with its pinned version and stages overlays in fleet order", async () => {
    const dir = await exampleFleetRepo();
    const staged = "overlays/fleet/interval.yaml";
    await mkdir(path.join(dir, "overlays/fleet"), { recursive: true });
    await writeFile(
      path.join(dir, staged),
      [
        '#@ load("@ytt:overlay", "overlay")',
        "#@ def overlay_for(cluster):",
        "prometheus:",
        "  #@overlay/match missing_ok=True",
        "  scrapeIntervalMarker: staged",
        "#@ end",
        "",
      ].join("\n"),
    );
    const pinned = WAVE_FLEET.replace(
      "  - name: edge-1\n    role: agent\n",
      `  - name: edge-1\n    role: agent\n    package:\n      version: 2.45.0+vmware.1-tkg.1\n    stagedOverlays: [${staged}]\n`,
    );
    await writeRepoFile(dir, "fleet.yaml", pinned);
    const result = await promfleet(dir, ["render"]);
    expect(result.code, result.stderr).toBe(0);
    const constraint = async (name: string) =>
      parse(await readRepoFile(dir, `clusters/${name}/manifests/package-install.yaml`)).spec.packageRef
        .versionSelection.constraints;
    expect(await constraint("edge-1")).toBe("2.45.0+vmware.1-tkg.1");
    expect(await constraint("edge-2")).toBe("2.43.0+vmware.2-tkg.1");
    const values = async (name: string) => parse(await readRepoFile(dir, `clusters/${name}/values.yaml`));
    expect((await values("edge-1")).prometheus.scrapeIntervalMarker).toBe("staged");
    expect((await values("edge-2")).prometheus.scrapeIntervalMarker).toBeUndefined();
  });

  it("validate checks pinned clusters against the one Package and says which version it is", async () => {
    const dir = await exampleFleetRepo();
    const pinned = WAVE_FLEET.replace(
      "  - name: edge-1\n    role: agent\n",
      "  - name: edge-1\n    role: agent\n    package:\n      version: 2.45.0+vmware.1-tkg.1\n",
    );
    await writeRepoFile(dir, "fleet.yaml", pinned);
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const pkg = path.join(fixturesDir, "tce-prometheus-package-2.37.0", "package.yaml");
    const r = await promfleet(dir, ["validate", "--package", pkg, "--json"]);
    expect(r.stderr).toContain(
      "pinned to 2.45.0+vmware.1-tkg.1 (edge-1): --package " +
        `${pkg} is the Package prometheus.community.tanzu.vmware.com 2.37.0, but the fleet installs ` +
        "prometheus.tanzu.vmware.com 2.45.0+vmware.1-tkg.1",
    );
    const report = JSON.parse(r.stdout) as { clusters: { name: string; checks: { check: string }[] }[] };
    const edge1 = report.clusters.find((c) => c.name === "edge-1");
    expect(edge1?.checks.map((k) => k.check)).toContain("package-schema");
  });

  it("refuses a staged overlay that does not exist, at its place in the spec", async () => {
    const text = WAVE_FLEET.replace(
      "  - name: edge-1\n    role: agent\n",
      "  - name: edge-1\n    role: agent\n    stagedOverlays: [overlays/fleet/missing.yaml]\n",
    );
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        path: "clusters[2].stagedOverlays[0]",
        message: "overlay overlays/fleet/missing.yaml does not exist",
      }),
    ]);
  });
});
