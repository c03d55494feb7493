import path from "node:path";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { CrdValidator } from "../src/validate/crd.js";
import {
  exampleFleetRepo,
  promfleet,
  readRepoFile,
  repoRoot,
  fixturesDir,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { parseDocs } from "./helpers/values.js";

const kustomize =
  process.env.PROMFLEET_KUSTOMIZE ??
  (existsSync(path.join(repoRoot, ".tools/bin/kustomize"))
    ? path.join(repoRoot, ".tools/bin/kustomize")
    : "kustomize");

/** The example fleet with `kind` delivered by Flux. */
async function fluxFleet(): Promise<string> {
  const dir = await exampleFleetRepo();
  const spec = await readRepoFile(dir, "fleet.yaml");
  await writeRepoFile(
    dir,
    "fleet.yaml",
    spec.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"),
  );
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  return dir;
}

describe("Flux delivery", () => {
  it("renders a GitRepository and a pruning Kustomization with a PackageInstall health check", async () => {
    const dir = await fluxFleet();
    const docs = parseDocs(await readRepoFile(dir, "clusters/kind/bootstrap/flux.yaml"));
    const ks = docs.find((d) => d.kind === "Kustomization") as { spec: Record<string, unknown> };
    expect(ks.spec).toMatchObject({
      path: "./clusters/kind",
      prune: true,
      interval: "10m",
      sourceRef: { kind: "GitRepository", name: "promfleet" },
    });
    expect(ks.spec.healthChecks).toEqual([
      {
        apiVersion: "packaging.carvel.dev/v1alpha1",
        kind: "PackageInstall",
        name: "prometheus",
        namespace: "tkg-system",
      },
    ]);
    const repo = docs.find((d) => d.kind === "GitRepository") as { spec: Record<string, unknown> };
    expect(repo.spec).toMatchObject({
      url: "https://github.com/example/promfleet.git",
      ref: { branch: "main" },
    });
    // the aggregator stays on kapp-controller: delivery is per cluster
    expect(await readRepoFile(dir, "clusters/orbstack/bootstrap/app.yaml")).toContain("kind: App");
  });

  it("Flux resources validate against the Flux CRDs", async () => {
    const dir = await fluxFleet();
    const crds = await CrdValidator.load([path.join(fixturesDir, "crds")]);
    const flux = parseDocs(await readRepoFile(dir, "clusters/kind/bootstrap/flux.yaml")).filter((d) =>
      crds.knows(d),
    );
    expect(flux.map((d) => d.kind)).toEqual(["GitRepository", "Kustomization"]);
    for (const d of flux) expect(crds.validate(d), String(d.kind)).toEqual([]);
  });

  it("the cluster folder builds with real kustomize into exactly the manifests", async () => {
    const dir = await fluxFleet();
    const { stdout } = await execa(kustomize, ["build", path.join(dir, "clusters", "kind")]);
    const kinds = parseDocs(stdout)
      .map((d) => `${String(d.kind)}/${String((d.metadata as { name: string }).name)}`)
      .sort();
    expect(kinds).toEqual([
      "ClusterRoleBinding/prometheus-tkg-system-cluster-admin",
      "PackageInstall/prometheus",
      "Secret/prometheus-tkg-system-values",
      "ServiceAccount/prometheus-tkg-system-sa",
    ]);
  });

  it("switching delivery is one spec change whose render swaps exactly the bootstrap files", async () => {
    const dir = await exampleFleetRepo();
    await promfleet(dir, ["render"]);
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"),
    );
    const swap = JSON.parse((await promfleet(dir, ["render", "--json"])).stdout);
    expect(swap).toMatchObject({
      created: ["clusters/kind/bootstrap/flux.yaml", "clusters/kind/kustomization.yaml"],
      updated: ["clusters/kind/.promfleet-render.yaml"],
      removed: ["clusters/kind/bootstrap/app.yaml"],
    });
    await writeRepoFile(dir, "fleet.yaml", spec.replace("kind: Fleet\n", "kind: Fleet\ndelivery: flux\n"));
    const fleetWide = JSON.parse((await promfleet(dir, ["render", "--json"])).stdout);
    expect(fleetWide.created).toEqual([
      "clusters/orbstack/bootstrap/flux.yaml",
      "clusters/orbstack/kustomization.yaml",
    ]);
  });
});

describe("a Flux fleet across commands", () => {
  it("onboards an agent with a Flux bootstrap, validates against the Flux CRDs and builds with kustomize", async () => {
    const dir = await exampleFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("kind: Fleet\n", "kind: Fleet\ndelivery: flux\n"));
    // onboarding renders only the cluster it adds (and what its credential touches): the fleet first
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const onboard = await promfleet(dir, ["onboard-cluster", "edge-1", "--json"]);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(JSON.parse(onboard.stdout).files).toEqual(
      expect.arrayContaining(["clusters/edge-1/bootstrap/flux.yaml", "clusters/edge-1/kustomization.yaml"]),
    );
    const validate = await promfleet(dir, ["validate", "--crds", path.join(fixturesDir, "crds"), "--json"]);
    expect(validate.code, validate.stdout).toBe(0);
    const checked = JSON.parse(validate.stdout).clusters.flatMap(
      (c: { checks: Array<{ check: string; file: string }> }) =>
        c.checks.filter((k) => k.check === "crds").map((k) => k.file),
    );
    expect(checked).toContain("clusters/edge-1/bootstrap/flux.yaml");
    const { stdout } = await execa(kustomize, ["build", path.join(dir, "clusters", "edge-1")]);
    expect(
      parseDocs(stdout)
        .map((d) => d.kind)
        .sort(),
    ).toEqual(["ClusterRoleBinding", "PackageInstall", "Secret", "ServiceAccount"]);
  });
});
