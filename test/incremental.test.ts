import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readClusterTree } from "../src/layout/tree.js";
import { exampleFleetRepo, promfleet, readRepoFile, repoRoot, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo, toolPath } from "./helpers/secure-fleet.js";

const AGENTS = ["kind", "edge-1", "edge-2", "edge-3"];
const ALL = ["orbstack", ...AGENTS];

/** A ytt overlay merging `global: {<key>: <value>}` into prometheus_yml. */
const globalOverlay = (key: string, value: string) =>
  `#@ load("@ytt:overlay", "overlay")\n#@ def overlay_for(cluster):\nprometheus:\n  config:\n    prometheus_yml:\n      global:\n        #@overlay/match missing_ok=True\n        ${key}: ${value}\n#@ end\n`;

/**
 * The example fleet plus three agents, a fleet-wide overlay and edge-1's own overlay, rendered once.
 */
async function renderedFleet(): Promise<string> {
  const dir = await exampleFleetRepo();
  const spec = await readRepoFile(dir, "fleet.yaml");
  await writeRepoFile(dir, "overlays/fleet/interval.yaml", globalOverlay("scrape_interval", "30s"));
  await writeRepoFile(dir, "overlays/clusters/edge-1.yaml", globalOverlay("scrape_timeout", "20s"));
  const agents =
    "  - name: edge-1\n    role: agent\n    overlays: [overlays/clusters/edge-1.yaml]\n" +
    "  - name: edge-2\n    role: agent\n" +
    "  - name: edge-3\n    role: agent\n";
  await writeRepoFile(dir, "fleet.yaml", `overlays: [overlays/fleet/interval.yaml]\n${spec}${agents}`);
  expect(await renderedClusters(dir)).toEqual(ALL);
  return dir;
}

/** Runs `promfleet render --json` and returns the clusters it ran through ytt. */
async function renderedClusters(dir: string, env: Record<string, string> = {}): Promise<string[]> {
  const result = await promfleet(dir, ["render", "--json"], env);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { rendered: string[] }).rendered;
}

/** A copy of the fleet's spec and overlays (no clusters/), rendered from scratch. */
async function fullRender(dir: string): Promise<Map<string, string>> {
  const fresh = await mkdtemp(path.join(os.tmpdir(), "promfleet-full-"));
  await cp(path.join(dir, "fleet.yaml"), path.join(fresh, "fleet.yaml"));
  await cp(path.join(dir, "overlays"), path.join(fresh, "overlays"), { recursive: true });
  const result = await promfleet(fresh, ["render"]);
  expect(result.code, result.stderr).toBe(0);
  return readClusterTree(fresh);
}

/** The tree must be exactly what rendering everything from scratch writes. */
async function expectFullRender(dir: string): Promise<void> {
  expect(readClusterTree(dir)).toEqual(await fullRender(dir));
}

async function editFile(dir: string, rel: string, edit: (text: string) => string): Promise<void> {
  await writeRepoFile(dir, rel, edit(await readRepoFile(dir, rel)));
}

/**
 * A ytt that records the clusters of every evaluation (from its data values file) in `log`, then runs
 * the real ytt; `version` makes it claim another version.
 */
async function recordingYtt(
  version?: string,
): Promise<{ env: Record<string, string>; clusters: () => Promise<string[]> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-log-"));
  const log = path.join(dir, "log");
  const script = path.join(dir, "ytt");
  const fakeVersion = version
    ? `if [ "$1" = version ]; then echo "ytt version ${version}"; exit 0; fi\n`
    : "";
  await writeFile(
    script,
    `#!/bin/sh\n${fakeVersion}prev=\nfor a in "$@"; do\n  if [ "$prev" = --data-values-file ]; then cat "$a" >> ${JSON.stringify(log)}; echo >> ${JSON.stringify(log)}; fi\n  prev=$a\ndone\nexec ${JSON.stringify(toolPath("ytt"))} "$@"\n`,
  );
  await chmod(script, 0o755);
  await writeFile(log, "");
  return {
    env: { PROMFLEET_YTT: script },
    clusters: async () =>
      (await readFile(log, "utf8"))
        .split("\n")
        .filter(Boolean)
        .flatMap((line) =>
          (JSON.parse(line) as { clusters: Array<{ cluster: { name: string } }> }).clusters.map(
            (c) => c.cluster.name,
          ),
        )
        .sort(),
  };
}

describe("render runs ytt only for clusters whose inputs changed", () => {
  it("a render with nothing changed runs no ytt and --check is clean", async () => {
    const dir = await renderedFleet();
    const ytt = await recordingYtt();
    expect(await renderedClusters(dir, ytt.env)).toEqual([]);
    expect(await ytt.clusters()).toEqual([]);
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
  });

  it.each<[string, string, (dir: string) => Promise<void>, string[]]>([
    [
      "the base values",
      "every cluster",
      (dir) => editFile(dir, "overlays/base/values.yaml", (t) => `${t}#! changed\n`),
      ALL,
    ],
    [
      "the agent role overlay",
      "the agents",
      (dir) => editFile(dir, "overlays/roles/agent.yaml", (t) => `${t}#! changed\n`),
      AGENTS,
    ],
    [
      "the aggregator role overlay",
      "the aggregator",
      (dir) => editFile(dir, "overlays/roles/aggregator.yaml", (t) => `${t}#! changed\n`),
      ["orbstack"],
    ],
    [
      "a fleet-wide overlay",
      "every cluster",
      (dir) => editFile(dir, "overlays/fleet/interval.yaml", (t) => t.replace("30s", "45s")),
      ALL,
    ],
    [
      "one cluster's overlay",
      "that cluster",
      (dir) => editFile(dir, "overlays/clusters/edge-1.yaml", (t) => t.replace("20s", "25s")),
      ["edge-1"],
    ],
    [
      "one cluster's values",
      "that cluster",
      (dir) =>
        editFile(dir, "fleet.yaml", (t) =>
          t.replace("  - name: edge-2\n", '  - name: edge-2\n    values: {"prometheus.pvc.storage": 3Gi}\n'),
        ),
      ["edge-2"],
    ],
    [
      "one cluster's entry",
      "that cluster",
      (dir) =>
        editFile(dir, "fleet.yaml", (t) =>
          t.replace("  - name: edge-3\n", "  - name: edge-3\n    retention: 7m\n"),
        ),
      ["edge-3"],
    ],
    [
      "a fleet-level field",
      "every cluster",
      (dir) => editFile(dir, "fleet.yaml", (t) => t.replace("syncPeriod: 1m", "syncPeriod: 2m")),
      ALL,
    ],
  ])(
    "changing %s renders %s again, and the tree equals a full render",
    async (_what, _who, change, expected) => {
      const dir = await renderedFleet();
      await change(dir);
      const check = await promfleet(dir, ["render", "--check", "--json"]);
      expect(check.code).toBe(1);
      const ytt = await recordingYtt();
      const rendered = await renderedClusters(dir, ytt.env);
      expect([...rendered].sort()).toEqual([...expected].sort());
      expect(await ytt.clusters()).toEqual([...expected].sort());
      await expectFullRender(dir);
      expect(await renderedClusters(dir)).toEqual([]);
    },
  );

  it("waves (which only steer promfleet rollout) render nothing again: a wave's PR touches only its clusters", async () => {
    const dir = await renderedFleet();
    await editFile(
      dir,
      "fleet.yaml",
      (t) => `${t}waves:\n  - name: hub\n    clusters: [orbstack]\n  - name: rest\n    clusters: ["*"]\n`,
    );
    const check = await promfleet(dir, ["render", "--check"]);
    expect(check.code, check.stderr).toBe(0);
    expect(await renderedClusters(dir)).toEqual([]);
  });

  it("another ytt version renders every cluster again", async () => {
    const dir = await renderedFleet();
    const ytt = await recordingYtt("0.99.0");
    expect(await renderedClusters(dir, ytt.env)).toEqual(ALL);
    expect(await ytt.clusters()).toEqual([...ALL].sort());
  });

  /** A copy of this promfleet, changed by `change`, renders `dir`; returns the clusters it rendered. */
  async function renderWithChangedPromfleet(dir: string, change: (other: string) => Promise<void>) {
    const other = await mkdtemp(path.join(os.tmpdir(), "promfleet-next-"));
    await cp(path.join(repoRoot, "dist"), path.join(other, "dist"), { recursive: true });
    await cp(path.join(repoRoot, "bin"), path.join(other, "bin"), { recursive: true });
    await cp(path.join(repoRoot, "package.json"), path.join(other, "package.json"));
    await symlink(path.join(repoRoot, "node_modules"), path.join(other, "node_modules"));
    await symlink(path.join(repoRoot, ".tools"), path.join(other, ".tools"));
    await change(other);
    const result = await execa(
      "node",
      [path.join(other, "bin", "promfleet.js"), "-C", dir, "render", "--json"],
      {
        reject: false,
      },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { rendered: string[] }).rendered;
  }

  it("another promfleet version renders every cluster again", async () => {
    const dir = await renderedFleet();
    const rendered = await renderWithChangedPromfleet(dir, async (other) => {
      const pkg = JSON.parse(await readFile(path.join(other, "package.json"), "utf8")) as { version: string };
      await writeFile(
        path.join(other, "package.json"),
        JSON.stringify({ ...pkg, version: `${pkg.version}-next.1` }),
      );
    });
    expect(rendered).toEqual(ALL);
  });

  it("changed promfleet code under the same version (a checkout of promfleet, built) renders every cluster again", async () => {
    const dir = await renderedFleet();
    const rendered = await renderWithChangedPromfleet(dir, async (other) => {
      await editFile(
        other,
        "dist/render/values.js",
        (t) => `${t}\nglobalThis.promfleetCheckout = "a change that keeps the version";\n`,
      );
      // the build's last step, run in the copy: bundles its dist/ into the CLI with the new build hash
      await mkdir(path.join(other, "scripts"));
      await cp(
        path.join(repoRoot, "scripts", "bundle-cli.mjs"),
        path.join(other, "scripts", "bundle-cli.mjs"),
      );
      await execa("node", [path.join(other, "scripts", "bundle-cli.mjs")]);
    });
    expect(rendered).toEqual(ALL);
  });
});

describe("the render record only ever saves time", () => {
  it("a hand-edited file is reported by --check and rendered again", async () => {
    const dir = await renderedFleet();
    await editFile(dir, "clusters/edge-2/values.yaml", (t) => t.replace("30s", "1s"));
    const check = await promfleet(dir, ["render", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain("~ clusters/edge-2/values.yaml");
    expect(await renderedClusters(dir)).toEqual(["edge-2"]);
    await expectFullRender(dir);
  });

  it("a deleted or added file in a cluster's folder renders that cluster again", async () => {
    const dir = await renderedFleet();
    await rm(path.join(dir, "clusters/edge-1/bootstrap/app.yaml"));
    const extra = "#! Code generated by promfleet. DO NOT EDIT.\nkind: Stray\n";
    await writeRepoFile(dir, "clusters/edge-2/manifests/stray.yaml", extra);
    const check = await promfleet(dir, ["render", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain("+ clusters/edge-1/bootstrap/app.yaml");
    expect(check.stdout).toContain("- clusters/edge-2/manifests/stray.yaml");
    expect(await renderedClusters(dir)).toEqual(["edge-1", "edge-2"]);
    await expectFullRender(dir);
  });

  it.each<[string, (record: string) => string | undefined]>([
    ["deleted", () => undefined],
    ["not JSON", (r) => r.replace("{", "{{")],
    ["naming other inputs", (r) => r.replace(/"inputs": "[0-9a-f]/, '"inputs": "x')],
    ["listing a wrong hash", (r) => r.replace(/("values.yaml": ")[0-9a-f]/, "$1x")],
    ["reformatted", (r) => r.replace(/\n {2}/g, "\n    ")],
    ["with a key promfleet does not write", (r) => r.replace('"inputs"', '"extra": 1,\n  "inputs"')],
  ])("a record %s renders that cluster again and restores the record", async (_how, corrupt) => {
    const dir = await renderedFleet();
    const rel = "clusters/edge-3/.promfleet-render.yaml";
    const original = await readRepoFile(dir, rel);
    const corrupted = corrupt(original);
    if (corrupted === undefined) await rm(path.join(dir, rel));
    else {
      expect(corrupted).not.toBe(original);
      await writeRepoFile(dir, rel, corrupted);
    }
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(1);
    expect(await renderedClusters(dir)).toEqual(["edge-3"]);
    expect(await readRepoFile(dir, rel)).toBe(original);
    await expectFullRender(dir);
  });

  it("keeps each cluster's warnings when it is not rendered again", async () => {
    const dir = await renderedFleet();
    const first = await promfleet(dir, ["render", "--check", "--json"]);
    const warnings = (JSON.parse(first.stdout) as { warnings: string[] }).warnings;
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.join("\n")).toContain("[kind, edge-1, edge-2, edge-3]");
  });
});

describe("cluster changes render only the clusters they touch", () => {
  async function secureRendered() {
    const fleet = await secureFleetRepo({ agents: ["kind", "edge-1", "edge-2"] });
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    return fleet.dir;
  }

  /** Each listed cluster's files, byte for byte, to show a change left them alone. */
  function folders(dir: string, clusters: string[]): Map<string, string> {
    return new Map(
      [...readClusterTree(dir)].filter(([rel]) => clusters.some((c) => rel.startsWith(`clusters/${c}/`))),
    );
  }

  it("onboarding renders the new cluster and the aggregator (its web config lists credentials), nothing else", async () => {
    const dir = await secureRendered();
    const others = folders(dir, ["kind", "edge-1", "edge-2"]);
    const ytt = await recordingYtt();
    const onboard = await promfleet(dir, ["onboard-cluster", "edge-9"], ytt.env);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(await ytt.clusters()).toEqual(["edge-9", "orbstack"]);
    expect(folders(dir, ["kind", "edge-1", "edge-2"])).toEqual(others);
    await expectFullRender(dir);
  });

  it("onboarding without credentials (auth: none) renders the new cluster only", async () => {
    const dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const ytt = await recordingYtt();
    const onboard = await promfleet(dir, ["onboard-cluster", "edge-9"], ytt.env);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(await ytt.clusters()).toEqual(["edge-9"]);
    await expectFullRender(dir);
  });

  it("offboarding renders the aggregator only and removes the cluster's folder", async () => {
    const dir = await secureRendered();
    const ytt = await recordingYtt();
    const offboard = await promfleet(dir, ["offboard-cluster", "edge-1"], ytt.env);
    expect(offboard.code, offboard.stderr).toBe(0);
    expect(await ytt.clusters()).toEqual(["orbstack"]);
    expect([...readClusterTree(dir).keys()].some((rel) => rel.startsWith("clusters/edge-1/"))).toBe(false);
    await expectFullRender(dir);
  });

  it("rotating a credential renders that cluster and the aggregator", async () => {
    const dir = await secureRendered();
    const ytt = await recordingYtt();
    const rotate = await promfleet(dir, ["rotate-credential", "edge-2"], ytt.env);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(await ytt.clusters()).toEqual(["edge-2", "orbstack"]);
    await expectFullRender(dir);
  });
});
