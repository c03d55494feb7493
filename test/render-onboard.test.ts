import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

describe("render inputs a change commits", () => {
  it("onboarding a Flux cluster with SOPS lists its new credential; the tree is up to date after", async () => {
    const { dir } = await secureFleetRepo({ sops: true });
    await writeRepoFile(dir, "fleet.yaml", "delivery: flux\n" + (await readRepoFile(dir, "fleet.yaml")));
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const onboard = await promfleet(dir, ["onboard-cluster", "edge-1"]);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(onboard.stdout).toContain("clusters/edge-1/manifests/credentials.sops.yaml");
    const kustomization = parse(await readRepoFile(dir, "clusters/edge-1/kustomization.yaml")) as {
      resources: string[];
    };
    expect(kustomization.resources).toEqual([
      "manifests/credentials.sops.yaml",
      "manifests/package-install.yaml",
      "manifests/package-overlay.yaml",
      "manifests/rbac.yaml",
      "manifests/values-secret.yaml",
    ]);
    const check = await promfleet(dir, ["render", "--check"]);
    expect(check.code, check.stdout).toBe(0);
  });
});
