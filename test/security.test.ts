import { mkdtemp, readdir, readFile, stat, symlink, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import { storeCredential } from "../src/secrets/credentials.js";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { renderThroughPackage, serverPod } from "./helpers/package-bundle.js";
import { readText, secureFleetRepo, toolPath } from "./helpers/secure-fleet.js";
import { parseDocs, promConfigOf } from "./helpers/values.js";

async function allFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await allFiles(dir, child)));
    else out.push(child);
  }
  return out;
}

describe("secure by default", () => {
  it("verifies TLS and authenticates every agent with its own credential; nothing insecure is rendered", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind", "edge-1"] });
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    for (const f of await allFiles(dir, "clusters"))
      expect(await readText(dir, f), f).not.toContain("insecure_skip_verify");
    for (const agent of ["kind", "edge-1"]) {
      const [rw] = promConfigOf(await readRepoFile(dir, `clusters/${agent}/values.yaml`))
        .remote_write as Array<Record<string, unknown>>;
      expect(rw).toEqual({
        url: "https://prometheus.example.com/api/v1/write",
        send_exemplars: true,
        tls_config: { ca_file: "/etc/promfleet/remote-write-ca/ca.crt" },
        basic_auth: { username: agent, password_file: "/etc/promfleet/credentials/password" },
      });
    }
    const aggregator = parse(await readRepoFile(dir, "clusters/orbstack/values.yaml"));
    expect(aggregator.prometheus.deployment.containers.args).toContain(
      "--web.config.file=/etc/promfleet/web/web-config.yml",
    );
    const self = promConfigOf(await readRepoFile(dir, "clusters/orbstack/values.yaml")).scrape_configs.find(
      (j) => j.job_name === "prometheus",
    );
    expect(self).toMatchObject({
      basic_auth: { username: "orbstack", password_file: "/etc/promfleet/credentials/password" },
    });
    const [pkgi] = parseDocs(await readRepoFile(dir, "clusters/kind/manifests/package-install.yaml"));
    expect((pkgi?.metadata as { annotations: object }).annotations).toEqual({
      "ext.packaging.carvel.dev/ytt-paths-from-secret-name.0": "promfleet-package-overlay",
    });
  });

  it("the package overlay, rendered through the package with real ytt, mounts credentials and CA", async () => {
    const { dir } = await secureFleetRepo();
    await promfleet(dir, ["render"]);
    const agent = serverPod(await renderThroughPackage(dir, "kind"));
    expect(agent.server.volumeMounts.map((m) => [m.name, m.mountPath])).toEqual(
      expect.arrayContaining([
        ["promfleet-credentials", "/etc/promfleet/credentials"],
        ["promfleet-remote-write-ca", "/etc/promfleet/remote-write-ca"],
      ]),
    );
    expect(agent.pod.volumes).toEqual(
      expect.arrayContaining([
        { name: "promfleet-remote-write-ca", secret: { secretName: "aggregator-ca" } },
      ]),
    );

    const docs = await renderThroughPackage(dir, "orbstack");
    const aggregator = serverPod(docs);
    expect(aggregator.server.args).toContain("--web.config.file=/etc/promfleet/web/web-config.yml");
    expect(aggregator.server.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(["/etc/promfleet/web", "/etc/promfleet/credentials"]),
    );
    expect(aggregator.server.readinessProbe).toMatchObject({ tcpSocket: { port: 9090 } });
    expect(aggregator.reload.env).toBeUndefined();
    const webConfig = docs.find(
      (d) => d.kind === "Secret" && (d.metadata as { name: string }).name === "promfleet-web-config",
    ) as {
      metadata: { namespace: string };
      stringData: Record<string, string>;
    };
    expect(webConfig.metadata.namespace).toBe("tanzu-system-monitoring");
    expect(Object.keys(parse(webConfig.stringData["web-config.yml"] as string).basic_auth_users)).toEqual([
      "orbstack",
      "kind",
    ]);
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-web-")), "web-config.yml");
    await writeFile(file, webConfig.stringData["web-config.yml"] as string);
    const check = await execa(toolPath("promtool"), ["check", "web-config", file], {
      reject: false,
      all: true,
    });
    expect(check.exitCode, check.all).toBe(0);
  });

  it("offboarding a cluster revokes it: its hash leaves the aggregator's web config", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind", "edge-1"] });
    await promfleet(dir, ["render"]);
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace(/ {2}- name: edge-1\n {4}role: agent\n {4}credential:\n {6}passwordHash: .*\n/, ""),
    );
    await promfleet(dir, ["render"]);
    const overlay = await readRepoFile(dir, "clusters/orbstack/manifests/package-overlay.yaml");
    expect(overlay).toContain("kind: ");
    expect(overlay).not.toContain("edge-1");
  });

  it("SOPS: the credential is committed encrypted, decrypts with the cluster's age key, and delivery decrypts it", async () => {
    const fleet = await secureFleetRepo({ sops: true });
    const spec = await loadFleet(fleet.dir);
    const password = fleet.credentials.get("kind")?.password as string;
    const stored = await storeCredential(spec, spec.clusters[1]!, password);
    expect(stored.file).toBe("clusters/kind/manifests/credentials.sops.yaml");
    const encrypted = await readText(fleet.dir, stored.file);
    expect(encrypted).not.toContain(password);
    expect(encrypted).toContain("ENC[AES256_GCM");
    expect(encrypted).toContain("name: promfleet-credentials-overlay"); // metadata stays reviewable
    const decrypted = await execa(
      toolPath("sops"),
      [
        "--disable-version-check",
        "-d",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        path.join(fleet.dir, stored.file),
      ],
      {
        env: { SOPS_AGE_KEY_FILE: fleet.ageKeyFile as string },
      },
    );
    const inner = parseDocs(parse(decrypted.stdout).stringData["promfleet-credentials.yaml"])[0] as {
      stringData: { password: string };
    };
    expect(inner.stringData.password).toBe(password);
    const swapped = (await readRepoFile(fleet.dir, "fleet.yaml")).replace(
      "  - name: kind\n",
      "  - name: kind\n    delivery: flux\n",
    );
    await writeRepoFile(fleet.dir, "fleet.yaml", swapped);
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    expect(parse(await readRepoFile(fleet.dir, "clusters/kind/kustomization.yaml")).resources).toContain(
      "manifests/credentials.sops.yaml",
    );
    const ks = parseDocs(await readRepoFile(fleet.dir, "clusters/kind/bootstrap/flux.yaml")).find(
      (d) => d.kind === "Kustomization",
    ) as { spec: Record<string, unknown> };
    expect(ks.spec.decryption).toEqual({ provider: "sops", secretRef: { name: "sops-age" } });
    const app = parseDocs(await readRepoFile(fleet.dir, "clusters/orbstack/bootstrap/app.yaml")).find(
      (d) => d.kind === "App",
    ) as { spec: { template: unknown[] } };
    expect(app.spec.template).toEqual([
      { sops: { age: { privateKeysSecretRef: { name: "sops-age" } } } },
      { ytt: {} },
    ]);
    const [pkgi] = parseDocs(await readRepoFile(fleet.dir, "clusters/kind/manifests/package-install.yaml"));
    expect(Object.values((pkgi?.metadata as { annotations: object }).annotations)).toEqual([
      "promfleet-package-overlay",
      "promfleet-credentials-overlay",
    ]);
  });

  it("external secrets: the password goes to a 0600 file outside Git, and the steps never contain it", async () => {
    const fleet = await secureFleetRepo();
    const spec = await loadFleet(fleet.dir);
    const password = fleet.credentials.get("kind")?.password as string;
    const stored = await storeCredential(spec, spec.clusters[1]!, password);
    expect(stored.file).toBe(".promfleet/credentials/kind.password");
    expect((await stat(path.join(fleet.dir, stored.file))).mode & 0o777).toBe(0o600);
    expect(stored.nextSteps.join("\n")).not.toContain(password);
    expect(stored.nextSteps[0]).toContain("create secret generic promfleet-credentials");
  });

  it("no plaintext password lands anywhere promfleet writes in the repository", async () => {
    const fleet = await secureFleetRepo({ sops: true, agents: ["kind", "edge-1"] });
    const spec = await loadFleet(fleet.dir);
    for (const c of spec.clusters)
      await storeCredential(spec, c, fleet.credentials.get(c.name)?.password as string);
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    const files = (await allFiles(fleet.dir)).filter((f) => !f.startsWith(".promfleet/"));
    expect(files.length).toBeGreaterThan(15);
    for (const f of files) {
      const text = await readFile(path.join(fleet.dir, f), "utf8");
      for (const [name, cred] of fleet.credentials)
        expect(text.includes(cred.password), `${name}'s password in ${f}`).toBe(false);
      expect(
        /password:\s*(?!ENC\[)[^\s{]/.test(text) && !f.endsWith(".sops.yaml"),
        `a literal password value in ${f}`,
      ).toBe(false);
    }
  });
});

describe("input hardening", () => {
  it("overlay paths cannot leave the repository, not even through a symbolic link", async () => {
    const { dir } = await secureFleetRepo();
    const outside = await mkdtemp(path.join(os.tmpdir(), "promfleet-outside-"));
    await writeFile(path.join(outside, "evil.yaml"), "#@ def overlay_for(cluster):\n#@ end\n");
    await mkdir(path.join(dir, "overlays", "fleet"), { recursive: true });
    await symlink(path.join(outside, "evil.yaml"), path.join(dir, "overlays", "fleet", "link.yaml"));
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec + "overlays: [overlays/fleet/link.yaml]\n");
    const linked = await promfleet(dir, ["render"]);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain("overlay overlays/fleet/link.yaml resolves outside the repository");
    await writeRepoFile(dir, "fleet.yaml", spec + "overlays: [../../etc/passwd.yaml]\n");
    const traversal = await promfleet(dir, ["render"]);
    expect(traversal.code).toBe(2);
    expect(traversal.stderr).toContain('overlays[0]: "../../etc/passwd.yaml" is not allowed here');
    expect(await readdir(dir)).not.toContain("clusters");
  });

  it("cluster names cannot be paths; values cannot inject YAML", async () => {
    const { dir } = await secureFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("name: kind", "name: ../../tmp/x"));
    const bad = await promfleet(dir, ["render"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("DNS-1123");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace(
        "    role: agent\n",
        '    role: agent\n    values: {"prometheus.pvc.storageClassName": "fast\\nevil: true"}\n',
      ),
    );
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const values = parse(await readRepoFile(dir, "clusters/kind/values.yaml"));
    expect(values.prometheus.pvc.storageClassName).toBe("fast\nevil: true");
    expect(values.evil).toBeUndefined();
  });
});
