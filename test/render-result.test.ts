import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import {
  foldClusters,
  inputsAfterChange,
  readRenderInputs,
  renderFleet,
  type ClusterRender,
} from "../src/render/render.js";
import { PromfleetError } from "../src/util/errors.js";
import { exampleFleetRepo, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

const ok = (cluster: string, file: string, warning?: string): ClusterRender => ({
  cluster,
  files: new Map([[`clusters/${cluster}/${file}`, `${cluster}\n`]]),
  values: { cluster },
  warnings: warning ? [{ cluster, message: warning }] : [],
  problems: [],
});

describe("folding clusters' results", () => {
  it("keeps fleet order and merges the same warning of several clusters into one line", () => {
    const fleet = foldClusters([ok("b", "x.yaml", "w"), ok("a", "y.yaml", "w"), ok("c", "z.yaml")]);
    expect([...fleet.files.keys()]).toEqual(["clusters/b/x.yaml", "clusters/a/y.yaml", "clusters/c/z.yaml"]);
    expect([...fleet.values.keys()]).toEqual(["b", "a", "c"]);
    expect(fleet.warnings).toEqual(["w [b, a]"]);
  });

  it("throws one exit-2 error carrying every cluster's problems", () => {
    const bad = (cluster: string): ClusterRender => ({
      cluster,
      files: new Map(),
      warnings: [],
      problems: [{ file: `clusters/${cluster}/values.yaml`, message: `${cluster} is broken` }],
    });
    let error: unknown;
    try {
      foldClusters([bad("a"), ok("b", "x.yaml"), bad("c")]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PromfleetError);
    expect((error as PromfleetError).exitCode).toBe(2);
    expect((error as PromfleetError).problems.map((p) => p.message)).toEqual(["a is broken", "c is broken"]);
  });
});

describe("render inputs", () => {
  it("are read from the working tree once, and render uses what it is given, not the tree", async () => {
    const dir = await exampleFleetRepo();
    const text = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      text.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"),
    );
    const spec = await loadFleet(dir);
    expect((await readRenderInputs(spec)).committedManifests).toEqual(new Map());
    await writeRepoFile(dir, "clusters/kind/manifests/credentials.sops.yaml", "sops: {}\n");
    expect((await readRenderInputs(spec)).committedManifests).toEqual(
      new Map([["kind", ["manifests/credentials.sops.yaml"]]]),
    );
    const listed = async (committed: Map<string, string[]>) => {
      const rendered = await renderFleet(spec, { committedManifests: committed });
      const kustomization = rendered.files.get("clusters/kind/kustomization.yaml") ?? "";
      return (parse(kustomization) as { resources: string[] }).resources;
    };
    expect(await listed(new Map())).toEqual([
      "manifests/package-install.yaml",
      "manifests/rbac.yaml",
      "manifests/values-secret.yaml",
    ]);
    expect(await listed(new Map([["kind", ["manifests/credentials.sops.yaml"]]]))).toEqual([
      "manifests/credentials.sops.yaml",
      "manifests/package-install.yaml",
      "manifests/rbac.yaml",
      "manifests/values-secret.yaml",
    ]);
  });
});

describe("render inputs after a change", () => {
  it("count the credentials the change commits and not those it deletes; other files are not inputs", () => {
    const before = { committedManifests: new Map([["kind", ["manifests/credentials.sops.yaml"]]]) };
    const after = inputsAfterChange(
      before,
      ["clusters/edge-1/manifests/credentials.sops.yaml", "clusters/edge-2/values.yaml", "fleet.yaml"],
      ["clusters/kind/manifests/credentials.sops.yaml"],
    );
    expect(after.committedManifests).toEqual(new Map([["edge-1", ["manifests/credentials.sops.yaml"]]]));
    expect(before.committedManifests.get("kind")).toEqual(["manifests/credentials.sops.yaml"]);
  });
});
