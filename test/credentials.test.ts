import { stat } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseFleet } from "../src/fleet/load.js";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

describe("credentials", () => {
  it("with basic auth, a cluster without a credential is refused with the command that fixes it", async () => {
    const text = `apiVersion: promfleet.dev/v1alpha1
kind: Fleet
package: {refName: prometheus.tanzu.vmware.com, version: 2.43.0+vmware.2-tkg.1}
git: {url: "https://github.com/example/fleet.git"}
clusters:
  - name: hub
    role: aggregator
    ingress: {host: prometheus.example.com}
`;
    await expect(parseFleet(text, "/r", "fleet.yaml")).rejects.toMatchObject({
      exitCode: 2,
      problems: [
        expect.objectContaining({
          path: "clusters[0]",
          line: 6,
          fix: "run: promfleet rotate-credential hub",
        }),
      ],
    });
  });

  it("rotate-credential writes a new hash into fleet.yaml keeping its comments, hands out the password and re-renders", async () => {
    const fleet = await secureFleetRepo();
    const original = (await readRepoFile(fleet.dir, "fleet.yaml")).replace(
      "kind: Fleet\n",
      "kind: Fleet\n# the team's fleet\n",
    );
    await writeRepoFile(
      fleet.dir,
      "fleet.yaml",
      original + "  - name: edge-2 # added by hand\n    role: agent\n",
    );
    const refused = await promfleet(fleet.dir, ["render"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("fix: run: promfleet rotate-credential edge-2");

    const rotated = await promfleet(fleet.dir, ["rotate-credential", "edge-2", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result.file).toBe(".promfleet/credentials/edge-2.password");
    expect(result.rendered).toContain("clusters/edge-2/values.yaml");
    expect(result.rendered).toContain("clusters/orbstack/manifests/package-overlay.yaml");
    const spec = await readRepoFile(fleet.dir, "fleet.yaml");
    expect(spec).toContain("# the team's fleet");
    expect(spec).toContain("- name: edge-2 # added by hand");
    const hash = (
      parse(spec).clusters as Array<{ name: string; credential?: { passwordHash: string } }>
    ).find((c) => c.name === "edge-2")?.credential?.passwordHash;
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    const password = await readRepoFile(fleet.dir, result.file);
    expect(rotated.stdout + rotated.stderr).not.toContain(password);
    expect((await stat(path.join(fleet.dir, result.file))).mode & 0o777).toBe(0o600);
    expect(await readRepoFile(fleet.dir, "clusters/orbstack/manifests/package-overlay.yaml")).toContain(hash);

    const again = JSON.parse((await promfleet(fleet.dir, ["rotate-credential", "edge-2", "--json"])).stdout);
    expect(again.file).toBe(result.file);
    expect(await readRepoFile(fleet.dir, result.file)).not.toBe(password);
  });

  it("refuses to rotate when authentication is off, or for an unknown cluster", async () => {
    const fleet = await secureFleetRepo();
    expect((await promfleet(fleet.dir, ["rotate-credential", "ghost"])).stderr).toContain(
      "cluster ghost is not in fleet.yaml",
    );
    const spec = await readRepoFile(fleet.dir, "fleet.yaml");
    await writeRepoFile(
      fleet.dir,
      "fleet.yaml",
      spec.replace("remoteWrite:\n", "remoteWrite:\n  auth: none\n"),
    );
    const off = await promfleet(fleet.dir, ["rotate-credential", "kind"]);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain("remoteWrite.auth is none");
  });
});
