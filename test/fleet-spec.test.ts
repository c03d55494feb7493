import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFleet, parseFleet } from "../src/fleet/load.js";
import {
  exampleFleetRepo,
  MINIMAL_FLEET as VALID,
  promfleet,
  readRepoFile,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { problemsOf } from "./helpers/spec-problems.js";

describe("fleet spec", () => {
  it("fills secure defaults into a minimal spec", async () => {
    const spec = await parseFleet(VALID, "/r", "fleet.yaml", { requireCredentials: false });
    expect(spec.remoteWrite).toEqual({
      url: "https://prometheus.example.com/api/v1/write",
      insecureSkipVerify: false,
      caSecret: undefined,
      auth: "basic",
      receiver: { kind: "aggregator" },
    });
    expect(spec.secrets).toEqual({ provider: "external", ageRecipients: [] });
    expect(spec.kubernetesApi.insecureSkipVerify).toBe(false);
    expect(spec.guardClusterLabel).toBe(true);
    const agent = spec.clusters[1];
    expect(agent).toMatchObject({
      role: "agent",
      retention: "5m",
      walPath: "/data/agent-wal",
      storage: "1Gi",
    });
    expect(spec.clusters[0]).toMatchObject({ retention: "15d", walPath: undefined });
  });

  it("names file, line, path and fix for a typo, and suggests the key meant", async () => {
    const [p, ...rest] = await problemsOf(
      VALID.replace(
        "  - name: edge-1\n    role: agent\n",
        "  - name: edge-1\n    role: agent\n    retension: 5m\n",
      ),
    );
    expect(rest).toEqual([]);
    expect(p).toMatchObject({
      file: "fleet.yaml",
      path: "clusters[1].retension",
      line: 15,
      message: 'unknown key "retension"',
    });
    expect(p?.fix).toContain('did you mean "retention"');
  });

  it("reports every problem at once: bad name, duplicate, bad duration, two aggregators", async () => {
    const text =
      VALID.replace("name: edge-1", "name: Edge_1") +
      "  - name: hub\n    role: aggregator\n    retention: 5 minutes\n";
    const problems = await problemsOf(text);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath["clusters[1].name"]?.fix).toContain("DNS-1123");
    expect(byPath["clusters[2].retention"]?.fix).toContain("Prometheus duration");
    expect(byPath["clusters[2].retention"]?.line).toBe(17);
    // schema problems are reported first; duplicates and role counts need a schema-valid spec
    const semantic = await problemsOf(VALID + "  - name: hub\n    role: aggregator\n");
    expect(semantic.map((p) => p.message)).toEqual([
      'cluster name "hub" is already used by clusters[0]',
      "a fleet needs exactly one aggregator, found 2",
    ]);
  });

  it("rejects a fleet without an aggregator", async () => {
    const problems = await problemsOf(
      VALID.replace("role: aggregator", "role: agent").replace(/ {4}ingress:\n {6}host: .*\n/, ""),
    );
    expect(problems.map((p) => p.message)).toContain("a fleet needs exactly one aggregator, found 0");
  });

  it("rejects agents that have no aggregator URL to write to", async () => {
    const problems = await problemsOf(VALID.replace(/ {4}ingress:\n {6}host: .*\n/, ""));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      path: "remoteWrite",
      message: "agents have no aggregator URL to remote-write to",
    });
    expect(problems[0]?.fix).toContain("remoteWrite.url");
  });

  it("rejects plain-http remote writes, a short syncPeriod, missing and escaping overlays", async () => {
    const text =
      VALID +
      "remoteWrite:\n  url: http://hub.example.com/api/v1/write\napp:\n  syncPeriod: 10s\noverlays:\n  - overlays/fleet/missing.yaml\n";
    const messages = (await problemsOf(text)).map((p) => p.message);
    expect(messages).toEqual([
      "remote writes over plain http send every metric unencrypted",
      "kapp-controller raises a syncPeriod under 30s to 30s",
      "overlay overlays/fleet/missing.yaml does not exist",
    ]);
    const escaping = await problemsOf(VALID + "overlays:\n  - ../outside.yaml\n  - /etc/passwd.yaml\n");
    expect(escaping.map((p) => p.path)).toEqual(["overlays[0]", "overlays[1]"]);
  });

  it("reports YAML syntax errors with their position", async () => {
    const [p] = await problemsOf("apiVersion: promfleet.dev/v1alpha1\nclusters: [\n");
    expect(p?.message).toMatch(/^not valid YAML/);
    expect(p?.line).toBeGreaterThan(0);
  });

  it("exits 2 through the CLI and writes nothing", async () => {
    const dir = await exampleFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("retention: 5m", "retention: five"));
    const result = await promfleet(dir, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /fleet\.yaml:\d+:\d+: clusters\[1\]\.retention: "five" is not allowed here/,
    );
    expect(result.stderr).toContain("fix: use a Prometheus duration");
    expect(await readdir(dir)).not.toContain("clusters");
    await expect(loadFleet(path.join(dir, "missing"))).rejects.toThrow(/no fleet spec to read/);
  });
});
