/**
 * Issue 12 (SOPS recipients per cluster) and issue 11 (instructions promfleet prints must work as printed;
 * rotate-credential --dry-run tells the truth).
 */
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadFleet } from "../src/fleet/load.js";
import { storeCredential } from "../src/secrets/credentials.js";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { readText, secureFleetRepo, toolPath } from "./helpers/secure-fleet.js";

async function ageKey(): Promise<{ file: string; recipient: string }> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-age-")), "key.txt");
  await execa(toolPath("age-keygen"), ["-o", file]);
  return { file, recipient: (await execa(toolPath("age-keygen"), ["-y", file])).stdout.trim() };
}

async function decrypts(file: string, keyFile: string): Promise<boolean> {
  const r = await execa(
    toolPath("sops"),
    ["--disable-version-check", "-d", "--input-type", "yaml", "--output-type", "yaml", file],
    { env: { SOPS_AGE_KEY_FILE: keyFile }, reject: false },
  );
  return r.exitCode === 0;
}

/** A kubeconfig naming the clusters' contexts, pointing nowhere: client-side dry runs need no server. */
async function offlineKubeconfig(contexts: string[]): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-kube-")), "config");
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "nowhere", cluster: { server: "https://127.0.0.1:9" } }],
      users: [{ name: "nobody", user: { token: "unused" } }],
      contexts: contexts.map((name) => ({ name, context: { cluster: "nowhere", user: "nobody" } })),
    }),
  );
  return file;
}

/** Runs the part of a printed `create ... --dry-run=client -o yaml | kubectl apply -f -` before the pipe. */
async function manifestOf(step: string, cwd: string, kubeconfig: string, env: Record<string, string> = {}) {
  const [create, apply] = step.split(" | ");
  expect(apply).toMatch(/^kubectl --context [a-z0-9-]+ apply -f -$/);
  const r = await execa("sh", ["-c", create as string], {
    cwd,
    env: { KUBECONFIG: kubeconfig, ...env },
    stdin: "ignore",
    timeout: 20_000,
  });
  return parse(r.stdout) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
}

describe("SOPS recipients per cluster", () => {
  it("a cluster's credential decrypts with its own key and the administrators', never another cluster's", async () => {
    const fleet = await secureFleetRepo({ sops: true, agents: ["kind", "edge-1"] });
    const kind = await ageKey();
    const edge = await ageKey();
    const spec = (await readRepoFile(fleet.dir, "fleet.yaml"))
      .replace("  - name: kind\n", `  - name: kind\n    ageRecipient: ${kind.recipient}\n`)
      .replace("  - name: edge-1\n", `  - name: edge-1\n    ageRecipient: ${edge.recipient}\n`);
    await writeRepoFile(fleet.dir, "fleet.yaml", spec);
    const loaded = await loadFleet(fleet.dir);
    for (const c of loaded.clusters.filter((c) => c.role === "agent"))
      await storeCredential(loaded, c, fleet.credentials.get(c.name)?.password as string);
    const kindFile = path.join(fleet.dir, "clusters/kind/manifests/credentials.sops.yaml");
    const edgeFile = path.join(fleet.dir, "clusters/edge-1/manifests/credentials.sops.yaml");
    expect(await decrypts(kindFile, kind.file)).toBe(true);
    expect(await decrypts(kindFile, edge.file)).toBe(false);
    expect(await decrypts(edgeFile, edge.file)).toBe(true);
    expect(await decrypts(edgeFile, kind.file)).toBe(false);
    expect(await decrypts(kindFile, fleet.ageKeyFile as string)).toBe(true);
    expect(await decrypts(edgeFile, fleet.ageKeyFile as string)).toBe(true);
    const recipients = (
      parse(await readText(fleet.dir, "clusters/kind/manifests/credentials.sops.yaml")).sops.age as Array<{
        recipient: string;
      }>
    ).map((r) => r.recipient);
    expect(recipients.sort()).toEqual([kind.recipient, ...loaded.secrets.ageRecipients].sort());
  });
});

describe("printed instructions work on a live cluster as printed", () => {
  it("external secrets: an apply idiom (no AlreadyExists on a re-run) creating the Secret from the file", async () => {
    const fleet = await secureFleetRepo();
    const rotated = await promfleet(fleet.dir, ["rotate-credential", "kind", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { nextSteps, file } = JSON.parse(rotated.stdout) as { nextSteps: string[]; file: string };
    expect(nextSteps[0]).toContain("--dry-run=client -o yaml | kubectl --context kind apply -f -");
    const secret = await manifestOf(nextSteps[0] as string, fleet.dir, await offlineKubeconfig(["kind"]));
    expect(secret.metadata).toMatchObject({
      name: "promfleet-credentials-1", // a rotation takes the other slot (security-rotation.test.ts)
      namespace: "tanzu-system-monitoring",
    });
    expect(Buffer.from(secret.data.password as string, "base64").toString()).toBe(
      await readRepoFile(fleet.dir, file),
    );
  });

  it("SOPS: the age key goes where each delivery reads it (Flux: its namespace, a key ending .agekey)", async () => {
    const fleet = await secureFleetRepo({ sops: true, agents: ["kind", "edge-1"] });
    const spec = (await readRepoFile(fleet.dir, "fleet.yaml")).replace(
      "  - name: edge-1\n",
      "  - name: edge-1\n    delivery: flux\n",
    );
    await writeRepoFile(fleet.dir, "fleet.yaml", spec);
    const kubeconfig = await offlineKubeconfig(["kind", "edge-1"]);
    const expected = { kind: "tkg-system", "edge-1": "flux-system" } as Record<string, string>;
    for (const cluster of ["kind", "edge-1"]) {
      const out = await promfleet(fleet.dir, ["rotate-credential", cluster, "--json"]);
      expect(out.code, out.stderr).toBe(0);
      const steps = (JSON.parse(out.stdout) as { nextSteps: string[] }).nextSteps.filter(
        (s) => !s.startsWith("#"),
      );
      const step = steps.find((s) => s.includes("sops-age")) as string;
      const keyFile = fleet.ageKeyFile as string;
      const secret = await manifestOf(step.replace("<age key file>", keyFile), fleet.dir, kubeconfig);
      expect(secret.metadata, cluster).toMatchObject({ name: "sops-age", namespace: expected[cluster] });
      expect(Object.keys(secret.data), cluster).toEqual(["age.agekey"]);
    }
  });
});

describe("rotate-credential --dry-run", () => {
  it("writes nothing, and says what it would change", async () => {
    const fleet = await secureFleetRepo();
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    const before = await readRepoFile(fleet.dir, "fleet.yaml");
    const listing = async () => (await readdir(fleet.dir, { recursive: true })).sort();
    const filesBefore = await listing();
    const dry = await promfleet(fleet.dir, ["rotate-credential", "kind", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await readRepoFile(fleet.dir, "fleet.yaml")).toBe(before);
    expect(await listing()).toEqual(filesBefore);
    const result = JSON.parse(dry.stdout) as { dryRun: boolean; spec: string; file: string };
    expect(result).toMatchObject({
      dryRun: true,
      spec: "fleet.yaml",
      file: ".promfleet/credentials/kind.password",
    });
    const text = await promfleet(fleet.dir, ["rotate-credential", "kind", "--dry-run"]);
    expect(text.stderr).toContain("dry run, nothing written");
    expect(text.stderr).not.toContain("kubectl");
    expect(await readRepoFile(fleet.dir, "fleet.yaml")).toBe(before);
  });
});

describe("onboard-cluster --age-recipient", () => {
  it("records the cluster's own key, so its new credential decrypts with it and the administrators' only", async () => {
    const fleet = await secureFleetRepo({ sops: true, agents: ["kind"] });
    const own = await ageKey();
    const other = await ageKey();
    const r = await promfleet(fleet.dir, ["onboard-cluster", "edge-1", "--age-recipient", own.recipient]);
    expect(r.code, r.stderr).toBe(0);
    const entry = (
      parse(await readRepoFile(fleet.dir, "fleet.yaml")) as { clusters: Array<Record<string, unknown>> }
    ).clusters.find((c) => c.name === "edge-1");
    expect(entry?.ageRecipient).toBe(own.recipient);
    const file = path.join(fleet.dir, "clusters/edge-1/manifests/credentials.sops.yaml");
    expect(await decrypts(file, own.file)).toBe(true);
    expect(await decrypts(file, fleet.ageKeyFile as string)).toBe(true);
    expect(await decrypts(file, other.file)).toBe(false);
    const bad = await promfleet(fleet.dir, ["onboard-cluster", "edge-2", "--age-recipient", "not-a-key"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("ageRecipient");
    expect(await readdir(path.join(fleet.dir, "clusters"))).not.toContain("edge-2");
  });
});
