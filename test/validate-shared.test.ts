/**
 * validate checks byte-identical files once and reads values with the fast YAML reader
 * (src/validate/fast-yaml.ts): a cluster whose shared part alone is broken is still named, and so is
 * each of several broken alike.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fixturesDir, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

const AGENTS = ["edge-1", "edge-2", "edge-3", "edge-4", "edge-5"];
const ARGS = ["validate", "--crds", path.join(fixturesDir, "crds"), "--json"];

type Report = {
  clusters: Array<{ name: string; checks: Array<{ check: string; ok: boolean; file: string }> }>;
};

let dir: string;

beforeAll(async () => {
  dir = (await secureFleetRepo({ agents: AGENTS })).dir;
  expect((await promfleet(dir, ["render"])).code).toBe(0);
});

async function failed(): Promise<string[]> {
  const r = await promfleet(dir, ARGS);
  const report = JSON.parse(r.stdout) as Report;
  return report.clusters.flatMap((c) =>
    c.checks.filter((k) => !k.ok).map((k) => `${c.name} ${k.check} ${k.file}`),
  );
}

async function edit(file: string, from: string, to: string): Promise<void> {
  const text = await readRepoFile(dir, file);
  expect(text).toContain(from);
  await writeRepoFile(dir, file, text.replace(from, to));
}

describe("validate where clusters share most of their files", () => {
  it("names the cluster whose scrape_configs alone are broken, then each of two broken alike", async () => {
    expect(await failed()).toEqual([]);
    const broken = (c: string) =>
      edit(`clusters/${c}/values.yaml`, "regex: __meta_kubernetes_pod_label_(.+)", "regex: (");
    await broken("edge-3");
    expect(await failed()).toEqual(["edge-3 promtool clusters/edge-3/values.yaml"]);
    await broken("edge-5");
    expect(await failed()).toEqual([
      "edge-3 promtool clusters/edge-3/values.yaml",
      "edge-5 promtool clusters/edge-5/values.yaml",
    ]);
  });

  it("names the cluster whose PackageInstall spec alone has an unknown field, then each of two", async () => {
    const broken = (c: string) =>
      edit(
        `clusters/${c}/manifests/package-install.yaml`,
        "  serviceAccountName: prometheus-tkg-system-sa\n",
        "  serviceAccountName: prometheus-tkg-system-sa\n  serviceAcountName: typo\n",
      );
    const before = await failed();
    await broken("edge-2");
    expect((await failed()).filter((f) => !before.includes(f))).toEqual([
      "edge-2 crds clusters/edge-2/manifests/package-install.yaml",
    ]);
    await broken("edge-4");
    expect((await failed()).filter((f) => !before.includes(f))).toEqual([
      "edge-2 crds clusters/edge-2/manifests/package-install.yaml",
      "edge-4 crds clusters/edge-4/manifests/package-install.yaml",
    ]);
  });
});
