/**
 * The receiver in the spec: its rules (file, field, fix), what each kind renders into the agents'
 * remote_write, the one-change switch of the example fleet as `promfleet diff` shows it, the render
 * guard against an agent overlay that drops the tenant, and verify against each kind's query contract
 * (here a loopback server checks the documented paths and headers and answers as the store would; Mimir
 * also runs for real in test/receiver-mimir.test.ts, VictoriaMetrics cluster does not).
 */
import { execFileSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { parseFleet } from "../src/fleet/load.js";
import { verifyFleet } from "../src/verify/index.js";
import { exampleFleetRepo, MINIMAL_FLEET, promfleet } from "./helpers/fleet-repo.js";
import { problemsOf } from "./helpers/spec-problems.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function withRemoteWrite(lines: string, version = "2.43.0+vmware.2-tkg.1"): string {
  return MINIMAL_FLEET.replace("2.43.0+vmware.2-tkg.1", version).replace(
    "clusters:\n",
    `remoteWrite:\n  auth: none\n${lines}clusters:\n`,
  );
}

const THANOS = `  url: https://receive.example.com/api/v1/receive
  receiver:
    kind: thanos-receive
    queryUrl: https://query.example.com
    tenancy: per-cluster
    aggregatorCluster: keep
`;

describe("receiver rules", () => {
  it("accepts each kind with its fields", async () => {
    const specs = [
      THANOS,
      `  url: https://mimir.example.com/api/v1/push\n  receiver: { kind: mimir, queryUrl: https://mimir.example.com, tenancy: shared, tenant: fleet, aggregatorCluster: agent }\n`,
      `  url: https://vminsert.example.com:8480/\n  receiver: { kind: victoriametrics, queryUrl: https://vmselect.example.com:8481, tenancy: shared, tenant: "42", aggregatorCluster: keep }\n`,
      `  url: https://vm.example.com/api/v1/write\n  receiver: { kind: victoriametrics, queryUrl: https://vm.example.com, tenancy: none, aggregatorCluster: keep }\n`,
    ];
    for (const spec of specs)
      await expect(
        parseFleet(withRemoteWrite(spec), "/r", "fleet.yaml", { requireCredentials: false }),
      ).resolves.toBeDefined();
  });

  it("an external kind needs its write URL, query URL, tenancy and the aggregator's fate", async () => {
    const problems = await problemsOf(withRemoteWrite("  receiver:\n    kind: mimir\n"));
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ["remoteWrite", "agents write to mimir, but remoteWrite.url does not say where"],
      ["remoteWrite.receiver", "kind mimir needs queryUrl"],
      ["remoteWrite.receiver", "kind mimir needs tenancy"],
      ["remoteWrite.receiver", "kind mimir needs aggregatorCluster"],
    ]);
    expect(problems.every((p) => p.file === "fleet.yaml" && p.fix && p.line)).toBe(true);
    expect(problems[0]?.fix).toContain("https://mimir.example.com/api/v1/push");
  });

  it("refuses tenancies a kind does not have, and tenants it would not accept", async () => {
    const vmPerCluster = await problemsOf(
      withRemoteWrite(
        `  url: https://vm.example.com/api/v1/write\n  receiver: { kind: victoriametrics, queryUrl: https://vm.example.com, tenancy: per-cluster, aggregatorCluster: keep }\n`,
      ),
    );
    expect(vmPerCluster).toHaveLength(1);
    expect(vmPerCluster[0]).toMatchObject({ path: "remoteWrite.receiver.tenancy" });
    expect(vmPerCluster[0]?.message).toMatch(/accounts are numbers/);
    const vmName = await problemsOf(
      withRemoteWrite(
        `  url: https://vminsert.example.com/\n  receiver: { kind: victoriametrics, queryUrl: https://vmselect.example.com, tenancy: shared, tenant: fleet, aggregatorCluster: keep }\n`,
      ),
    );
    expect(vmName.map((p) => p.path)).toEqual(["remoteWrite.receiver.tenant"]);
    expect(vmName[0]?.fix).toMatch(/accountID/);
    const sharedWithoutName = await problemsOf(withRemoteWrite(THANOS.replace("per-cluster", "shared")));
    expect(sharedWithoutName.map((p) => p.message)).toEqual([
      "tenancy shared needs the shared tenant's name",
    ]);
    const ignoredTenant = await problemsOf(withRemoteWrite(THANOS + "    tenant: fleet\n"));
    expect(ignoredTenant.map((p) => p.path)).toEqual(["remoteWrite.receiver.tenant"]);
  });

  it("catches a write URL meant for another store and a query URL with a path", async () => {
    const wrongPath = await problemsOf(withRemoteWrite(THANOS.replace("/api/v1/receive", "/api/v1/write")));
    expect(wrongPath).toHaveLength(1);
    expect(wrongPath[0]).toMatchObject({
      path: "remoteWrite.url",
      fix: "write https://receive.example.com/api/v1/receive (behind a path prefix: <prefix>/api/v1/receive)",
    });
    const queryPath = await problemsOf(
      withRemoteWrite(THANOS.replace("https://query.example.com", "https://query.example.com/api/v1/query")),
    );
    expect(queryPath.map((p) => p.path)).toEqual(["remoteWrite.receiver.queryUrl"]);
    const vmClusterFullUrl = await problemsOf(
      withRemoteWrite(
        `  url: https://vminsert.example.com/insert/0/prometheus/api/v1/write\n  receiver: { kind: victoriametrics, queryUrl: https://vmselect.example.com, tenancy: shared, tenant: "0", aggregatorCluster: keep }\n`,
      ),
    );
    expect(vmClusterFullUrl.map((p) => p.path)).toEqual(["remoteWrite.url"]);
    expect(vmClusterFullUrl[0]?.fix).toContain("https://vminsert.example.com/");
  });

  it("store fields with kind aggregator would do nothing: refused", async () => {
    const problems = await problemsOf(
      withRemoteWrite("  receiver: { kind: aggregator, tenancy: shared, queryUrl: https://q.example.com }\n"),
    );
    expect(problems.map((p) => p.path).sort()).toEqual([
      "remoteWrite.receiver.queryUrl",
      "remoteWrite.receiver.tenancy",
    ]);
  });

  it("a tenant header needs a Prometheus with remote_write headers (2.25)", async () => {
    const problems = await problemsOf(withRemoteWrite(THANOS, "2.24.1+vmware.1-tkg.1"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "package.version" });
    expect(problems[0]?.message).toContain("THANOS-TENANT");
    await expect(
      parseFleet(withRemoteWrite(THANOS, "2.25.0+vmware.1"), "/r", "fleet.yaml", {
        requireCredentials: false,
      }),
    ).resolves.toBeDefined();
  });
});

/** The rendered prometheus_yml of one cluster in a fleet repository. */
async function promYml(dir: string, cluster: string) {
  const values = YAML.parse(await readFile(path.join(dir, "clusters", cluster, "values.yaml"), "utf8")) as {
    prometheus: { config: { prometheus_yml: string }; deployment: { containers: { args: string[] } } };
  };
  return {
    config: YAML.parse(values.prometheus.config.prometheus_yml) as {
      remote_write?: Record<string, unknown>[];
      global: { external_labels?: Record<string, string> };
    },
    args: values.prometheus.deployment.containers.args,
  };
}

/** The example fleet (orbstack + kind) rendered and committed, with edge-1 added. */
async function committedExampleFleet(): Promise<string> {
  const dir = await exampleFleetRepo();
  dirs.push(dir);
  const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
  await writeFile(path.join(dir, "fleet.yaml"), spec + "  - name: edge-1\n    role: agent\n");
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  git("init", "-q");
  git("add", "-A");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base");
  return dir;
}

async function switchReceiver(dir: string, lines: string): Promise<void> {
  const file = path.join(dir, "fleet.yaml");
  const spec = await readFile(file, "utf8");
  await writeFile(file, spec.replace("remoteWrite:\n", `remoteWrite:\n${lines}`));
  const render = await promfleet(dir, ["render"]);
  expect(render.code, render.stderr).toBe(0);
}

interface DiffJson {
  clusters: { cluster: string; status: string; changes: string[] }[];
}

describe("switching the example fleet from its aggregator to a store: one spec change", () => {
  it("kind: aggregator written out renders byte-identical files", async () => {
    const dir = await committedExampleFleet();
    await switchReceiver(dir, "  receiver:\n    kind: aggregator\n");
    expect(execFileSync("git", ["status", "--porcelain", "clusters"], { cwd: dir, encoding: "utf8" })).toBe(
      "",
    );
  });

  it("aggregatorCluster: keep: diff shows exactly the remote_write change on every agent, the aggregator unchanged", async () => {
    const dir = await committedExampleFleet();
    await switchReceiver(dir, THANOS);
    const diff = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    expect(diff.code, diff.stderr).toBe(0);
    const byCluster = Object.fromEntries(
      (JSON.parse(diff.stdout) as DiffJson).clusters.map((c) => [c.cluster, c]),
    );
    expect(Object.keys(byCluster).sort()).toEqual(["edge-1", "kind"]);
    for (const agent of ["kind", "edge-1"]) {
      expect(byCluster[agent]?.changes).toEqual([
        "remote_write to https://receive.example.com/api/v1/receive added",
        "remote_write to https://prometheus.192-168-194-146.sslip.io/api/v1/write removed",
        "manifests/values-secret.yaml: carries the new values.yaml",
      ]);
      const { config } = await promYml(dir, agent);
      expect(config.remote_write).toEqual([
        {
          url: "https://receive.example.com/api/v1/receive",
          headers: { "THANOS-TENANT": agent },
          send_exemplars: true,
          tls_config: { insecure_skip_verify: true },
        },
      ]);
      expect(config.global.external_labels).toEqual({ cluster: agent });
    }
    // the aggregator's files stay as they were; only its render record (a fingerprint over every
    // fleet-level field, remoteWrite included) is rewritten
    const files = execFileSync("git", ["status", "--porcelain", "clusters"], { cwd: dir, encoding: "utf8" });
    expect(files.split("\n").filter((l) => l.includes("orbstack"))).toEqual([
      " M clusters/orbstack/.promfleet-render.yaml",
    ]);
  });

  it("aggregatorCluster: agent: the aggregator becomes an agent writing to the store too", async () => {
    const dir = await committedExampleFleet();
    await switchReceiver(dir, THANOS.replace("aggregatorCluster: keep", "aggregatorCluster: agent"));
    const diff = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    const orbstack = (JSON.parse(diff.stdout) as DiffJson).clusters.find((c) => c.cluster === "orbstack");
    expect(orbstack?.status).toBe("changed");
    const { config, args } = await promYml(dir, "orbstack");
    expect(args).toContain("--enable-feature=agent");
    expect(args).not.toContain("--web.enable-remote-write-receiver");
    expect(config.remote_write?.[0]).toMatchObject({
      url: "https://receive.example.com/api/v1/receive",
      headers: { "THANOS-TENANT": "orbstack" },
    });
    expect(config.global.external_labels).toEqual({ cluster: "orbstack" });
  });

  it("Mimir shared tenant and VictoriaMetrics cluster: X-Scope-OrgID, and the account in vminsert's path", async () => {
    const dir = await committedExampleFleet();
    await switchReceiver(
      dir,
      "  url: https://mimir.example.com/api/v1/push\n  receiver: { kind: mimir, queryUrl: https://mimir.example.com, tenancy: shared, tenant: fleet, aggregatorCluster: keep }\n",
    );
    for (const agent of ["kind", "edge-1"])
      expect((await promYml(dir, agent)).config.remote_write?.[0]).toMatchObject({
        url: "https://mimir.example.com/api/v1/push",
        headers: { "X-Scope-OrgID": "fleet" },
      });
    execFileSync("git", ["checkout", "-q", "--", "fleet.yaml"], { cwd: dir });
    await switchReceiver(
      dir,
      '  url: https://vminsert.example.com:8480/\n  receiver: { kind: victoriametrics, queryUrl: https://vmselect.example.com:8481, tenancy: shared, tenant: "42:1", aggregatorCluster: keep }\n',
    );
    const vm = (await promYml(dir, "kind")).config.remote_write?.[0];
    expect(vm?.url).toBe("https://vminsert.example.com:8480/insert/42:1/prometheus/api/v1/write");
    expect(vm).not.toHaveProperty("headers");
  });

  it("an agent overlay without the tenant header stops the render (exit 2), naming the field and the fix", async () => {
    const dir = await committedExampleFleet();
    const overlay = path.join(dir, "overlays", "roles", "agent.yaml");
    const text = await readFile(overlay, "utf8");
    await writeFile(overlay, text.replace(/#@ {3}if c\.remoteWrite\.headers:\n.*\n#@ {3}end\n/, ""));
    const file = path.join(dir, "fleet.yaml");
    await writeFile(
      file,
      (await readFile(file, "utf8")).replace("remoteWrite:\n", `remoteWrite:\n${THANOS}`),
    );
    const render = await promfleet(dir, ["render"]);
    expect(render.code).toBe(2);
    expect(render.stderr).toContain("prometheus.config.prometheus_yml.remote_write[0].headers");
    expect(render.stderr).toContain("thanos-receive needs the header THANOS-TENANT: kind, found none");
    expect(render.stderr).toContain("cluster.remoteWrite.headers");
    expect(execFileSync("git", ["status", "--porcelain", "clusters"], { cwd: dir, encoding: "utf8" })).toBe(
      "",
    );
  });
});

interface SeenRequest {
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A loopback query API that answers only on the documented path with the documented tenant header,
 * with the clusters `tenants` says that tenant holds, as Mimir or vmselect would.
 */
async function contractServer(
  route: (path: string, headers: http.IncomingHttpHeaders) => string | undefined,
  tenants: Record<string, string[]>,
) {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push({ path: url.pathname, query: url.searchParams.get("query") ?? "", headers: req.headers });
    const tenant = route(url.pathname, req.headers);
    if (tenant === undefined) {
      res.writeHead(404).end("no such route");
      return;
    }
    const now = Number(url.searchParams.get("time"));
    const result = (tenants[tenant] ?? []).map((cluster) => ({
      metric: { cluster },
      value: [now, String(now - 5)],
    }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("verify against each kind's query contract", () => {
  const base = { maxStalenessSeconds: 60, waitSeconds: 0 };

  it("Mimir, per-cluster tenancy: /prometheus/api/v1/query once per tenant with X-Scope-OrgID", async () => {
    const mimir = await contractServer(
      (p, h) => (p === "/prometheus/api/v1/query" ? (h["x-scope-orgid"] as string | undefined) : undefined),
      // edge-1's samples landed in kind's tenant: wrong tenant, so edge-1 is missing.
      { kind: ["kind", "edge-1"], "edge-2": ["edge-2"] },
    );
    try {
      const result = await verifyFleet({
        ...base,
        aggregatorUrl: mimir.url,
        clusters: ["kind", "edge-1", "edge-2"],
        receiver: { kind: "mimir", queryUrl: mimir.url, tenancy: "per-cluster", aggregatorCluster: "keep" },
      });
      expect(mimir.seen.map((s) => s.headers["x-scope-orgid"])).toEqual(["kind", "edge-1", "edge-2"]);
      expect(result.clusters.map((c) => `${c.cluster}:${c.status}`)).toEqual([
        "kind:receiving",
        "edge-1:missing",
        "edge-2:receiving",
      ]);
      expect(result.ok).toBe(false);
    } finally {
      await mimir.close();
    }
  });

  it("VictoriaMetrics cluster, shared account: /select/<account>/prometheus/api/v1/query, no header", async () => {
    const vmselect = await contractServer(
      (p) => /^\/select\/([^/]+)\/prometheus\/api\/v1\/query$/.exec(p)?.[1],
      { "42": ["kind", "edge-1"] },
    );
    try {
      const result = await verifyFleet({
        ...base,
        aggregatorUrl: vmselect.url,
        clusters: ["kind", "edge-1"],
        receiver: {
          kind: "victoriametrics",
          queryUrl: vmselect.url,
          tenancy: "shared",
          tenant: "42",
          aggregatorCluster: "keep",
        },
      });
      expect(vmselect.seen.map((s) => s.path)).toEqual(["/select/42/prometheus/api/v1/query"]);
      expect(result.ok).toBe(true);
    } finally {
      await vmselect.close();
    }
  });

  it("Thanos Query, per-cluster tenancy: the selector is narrowed to each tenant's tenant_id", async () => {
    const query = await contractServer(
      (p, h) => (p === "/api/v1/query" ? (h["thanos-tenant"] as string) : undefined),
      {
        kind: ["kind"],
      },
    );
    try {
      await verifyFleet({
        ...base,
        aggregatorUrl: query.url,
        clusters: ["kind"],
        receiver: {
          kind: "thanos-receive",
          queryUrl: query.url,
          tenancy: "per-cluster",
          aggregatorCluster: "keep",
        },
      });
      expect(query.seen[0]?.query).toContain('up{cluster!="",tenant_id="kind"}');
    } finally {
      await query.close();
    }
  });
});
