/**
 * rotate-credential with an overlap: a Prometheus 2.43 web config holds one hash per user, so a new
 * credential gets the other of two user names (and Secret, and file); the aggregator accepts both until
 * `rotate-credential NAME --finish`, and the cluster's pod spec never changes (no restart).
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { promfleet, readRepoFile } from "./helpers/fleet-repo.js";
import { renderThroughPackage, serverPod } from "./helpers/package-bundle.js";
import { secureFleetRepo, toolPath } from "./helpers/secure-fleet.js";
import { parseDocs, promConfigOf } from "./helpers/values.js";

async function webConfigText(dir: string): Promise<string> {
  const [secret] = parseDocs(await readRepoFile(dir, "clusters/orbstack/manifests/package-overlay.yaml"));
  const file = (secret?.stringData as Record<string, string>)["promfleet-web-config.yaml"] as string;
  const [inner] = parseDocs(file);
  return (inner?.stringData as Record<string, string>)["web-config.yml"] as string;
}

async function users(dir: string): Promise<Record<string, string>> {
  return parse(await webConfigText(dir)).basic_auth_users;
}

function remoteWriteAuth(valuesText: string): unknown {
  return (promConfigOf(valuesText).remote_write as Array<{ basic_auth: unknown }>)[0]?.basic_auth;
}

function specCredential(specText: string, name: string): Record<string, unknown> {
  return (parse(specText).clusters as Array<{ name: string; credential: Record<string, unknown> }>).find(
    (c) => c.name === name,
  )?.credential as Record<string, unknown>;
}

describe("rotate-credential overlap", () => {
  it("both credentials work until --finish; user, Secret and file switch together; the pod spec never changes", async () => {
    const fleet = await secureFleetRepo({ agents: ["kind"] });
    const old = fleet.credentials.get("kind")?.password as string;
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    const podBefore = serverPod(await renderThroughPackage(fleet.dir, "kind")).pod;

    const rotated = await promfleet(fleet.dir, ["rotate-credential", "kind", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const result = JSON.parse(rotated.stdout) as { file: string; nextSteps: string[] };
    const fresh = await readRepoFile(fleet.dir, result.file);
    const overlapping = await users(fleet.dir);
    expect(Object.keys(overlapping).sort()).toEqual(["kind", "kind.1", "orbstack"]);
    expect(bcrypt.compareSync(old, overlapping.kind as string)).toBe(true);
    expect(bcrypt.compareSync(fresh, overlapping["kind.1"] as string)).toBe(true);
    expect(remoteWriteAuth(await readRepoFile(fleet.dir, "clusters/kind/values.yaml"))).toEqual({
      username: "kind.1",
      password_file: "/etc/promfleet/credentials/password-1",
    });
    expect(result.nextSteps[0]).toContain("create secret generic promfleet-credentials-1 ");
    expect(serverPod(await renderThroughPackage(fleet.dir, "kind")).pod).toEqual(podBefore);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-web-")), "web.yml");
    await writeFile(file, await webConfigText(fleet.dir));
    const check = await execa(toolPath("promtool"), ["check", "web-config", file], {
      reject: false,
      all: true,
    });
    expect(check.exitCode, check.all).toBe(0);

    const again = await promfleet(fleet.dir, ["rotate-credential", "kind"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("rotate-credential kind --finish");

    const finished = await promfleet(fleet.dir, ["rotate-credential", "kind", "--finish"]);
    expect(finished.code, finished.stderr).toBe(0);
    expect(Object.keys(await users(fleet.dir)).sort()).toEqual(["kind.1", "orbstack"]);
    expect(specCredential(await readRepoFile(fleet.dir, "fleet.yaml"), "kind")).toEqual({
      passwordHash: overlapping["kind.1"],
      generation: 1,
    });

    expect((await promfleet(fleet.dir, ["rotate-credential", "kind"])).code).toBe(0);
    expect(Object.keys(await users(fleet.dir)).sort()).toEqual(["kind", "kind.1", "orbstack"]);
    expect(remoteWriteAuth(await readRepoFile(fleet.dir, "clusters/kind/values.yaml"))).toEqual({
      username: "kind",
      password_file: "/etc/promfleet/credentials/password",
    });
    expect(serverPod(await renderThroughPackage(fleet.dir, "kind")).pod).toEqual(podBefore);
  });

  it("the credentials volume holds both generations' Secrets, each optional", async () => {
    const fleet = await secureFleetRepo({ agents: ["kind"] });
    await promfleet(fleet.dir, ["render"]);
    const { pod } = serverPod(await renderThroughPackage(fleet.dir, "kind"));
    expect(pod.volumes.find((v) => v.name === "promfleet-credentials")).toEqual({
      name: "promfleet-credentials",
      projected: {
        sources: [
          {
            secret: {
              name: "promfleet-credentials",
              optional: true,
              items: [{ key: "password", path: "password" }],
            },
          },
          {
            secret: {
              name: "promfleet-credentials-1",
              optional: true,
              items: [{ key: "password", path: "password-1" }],
            },
          },
        ],
      },
    });
  });
});
