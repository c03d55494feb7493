/**
 * Issue 6 on real Prometheus: the aggregator runs with promfleet's rendered --web.config.file (every
 * enrolled cluster's bcrypt hash) behind a TLS-terminating proxy with a test CA (as the ingress is in a
 * cluster); agents run their rendered remote_write blocks, with only the URL, password_file and ca_file
 * pointed at local files. Enrolled agents' samples arrive; a wrong password gets 401 and stores nothing;
 * an unauthenticated write gets 401; a wrong CA never gets through TLS.
 */
import { describeWith } from "./support/prerequisites.js";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { promfleet, readRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo, type SecureFleet } from "./helpers/secure-fleet.js";
import { e2eSkipReason } from "./support/e2e/env.js";
import { freePort, PrometheusProcess, sleep } from "./support/e2e/prometheus-process.js";

const skip = e2eSkipReason();
const PASSWORD_FILE = "/etc/promfleet/credentials/password";

type Config = {
  global: Record<string, unknown>;
  scrape_configs: Array<Record<string, unknown>>;
  remote_write?: Array<Record<string, unknown>>;
};

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, and (optionally) a server certificate it signs for 127.0.0.1. */
function makeCa(dir: string, name: string, withServer: boolean): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "1",
  ]);
  if (!withServer) return;
  execFileSync("sh", ["-c", "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext"], { cwd: dir });
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    `${name}.crt`,
    "-CAkey",
    `${name}.key`,
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "san.ext",
  ]);
}

/** The ingress: terminates TLS with the test CA's certificate and forwards to the aggregator. */
interface Proxy {
  port: number;
  /** What the aggregator answered each write, by the basic-auth user that sent it ("" = none). */
  answers: Array<{ user: string; path: string; status: number }>;
  close(): void;
}

async function tlsProxy(dir: string, target: number): Promise<Proxy> {
  const answers: Proxy["answers"] = [];
  const server = https.createServer(
    { key: await readFile(path.join(dir, "server.key")), cert: await readFile(path.join(dir, "server.crt")) },
    (req, res) => {
      const basic = (req.headers.authorization ?? "").replace(/^Basic /, "");
      const user = Buffer.from(basic, "base64").toString().split(":")[0] ?? "";
      const upstream = http.request(
        { host: "127.0.0.1", port: target, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          answers.push({ user, path: req.url ?? "", status: up.statusCode ?? 0 });
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as AddressInfo).port, answers, close: () => server.close() };
}

function request(
  url: string,
  o: { method?: string; auth?: string; body?: string; ca?: Buffer } = {},
): Promise<{ status: number; body: string }> {
  const lib = url.startsWith("https") ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method: o.method ?? "GET",
        ca: o.ca,
        headers: o.auth ? { authorization: `Basic ${Buffer.from(o.auth).toString("base64")}` } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

describeWith(skip, "authenticated, TLS-verified remote writes on real Prometheus", () => {
  let fleet: SecureFleet;
  let work: string;
  let aggregatorUrl = "";
  let proxy: Proxy;
  const processes: PrometheusProcess[] = [];
  const cred = (name: string) => fleet.credentials.get(name)?.password as string;
  const asAggregator = () => `orbstack:${cred("orbstack")}`;
  const query = async (q: string) =>
    JSON.parse(
      (
        await request(`${aggregatorUrl}/api/v1/query?query=${encodeURIComponent(q)}`, {
          auth: asAggregator(),
        })
      ).body,
    ).data.result as Array<{ metric: Record<string, string>; value: [number, string] }>;

  async function start(
    name: string,
    args: string[],
    port: number,
    isReady?: () => Promise<boolean>,
  ): Promise<void> {
    const dir = await mkdtemp(path.join(work, `${name}-`));
    const p = new PrometheusProcess({ name, dir, args, port, maxLifetimeSeconds: 90, isReady });
    processes.push(p);
    await p.start();
  }

  /** The rendered config with in-cluster jobs dropped and in-container paths pointed at local files. */
  async function localConfig(
    cluster: string,
    port: number,
    files: { password: string; ca?: string; remoteWrite?: string },
  ): Promise<{ args: string[]; configFile: string }> {
    const values = parse(await readRepoFile(fleet.dir, `clusters/${cluster}/values.yaml`));
    const config = parse(values.prometheus.config.prometheus_yml) as Config;
    config.scrape_configs = config.scrape_configs
      .filter((j) => j.job_name === "prometheus")
      .map((j) => ({
        ...j,
        scrape_interval: "1s",
        static_configs: [
          { ...(j.static_configs as Array<Record<string, unknown>>)[0], targets: [`127.0.0.1:${port}`] },
        ],
      }));
    config.global = { ...config.global, scrape_interval: "1s", scrape_timeout: "1s" };
    delete (config as Record<string, unknown>).alerting; // Kubernetes discovery; Debian's build has none
    const local = (job: Record<string, unknown>) =>
      JSON.parse(
        JSON.stringify(job)
          .split(PASSWORD_FILE)
          .join(files.password)
          .split("/etc/promfleet/remote-write-ca/ca.crt")
          .join(files.ca ?? ""),
      );
    config.scrape_configs = config.scrape_configs.map(local);
    if (config.remote_write)
      config.remote_write = config.remote_write.map((rw) => ({ ...local(rw), url: files.remoteWrite }));
    const configFile = path.join(work, `${cluster}-${port}.yml`);
    await writeFile(configFile, stringify(config));
    return { args: values.prometheus.deployment.containers.args as string[], configFile };
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "promfleet-e2e-sec-"));
    fleet = await secureFleetRepo({ agents: ["kind", "edge-1", "edge-2"] });
    expect((await promfleet(fleet.dir, ["render"])).code).toBe(0);
    makeCa(work, "test-ca", true);
    makeCa(work, "wrong-ca", false);

    // the aggregator, with the rendered web config exactly as the package overlay carries it
    const overlay = parseAllDocuments(
      await readRepoFile(fleet.dir, "clusters/orbstack/manifests/package-overlay.yaml"),
    )[0]?.toJS().stringData["promfleet-web-config.yaml"];
    const webConfig = path.join(work, "web-config.yml");
    await writeFile(
      webConfig,
      (parseAllDocuments(overlay)[0]?.toJS() as { stringData: Record<string, string> }).stringData[
        "web-config.yml"
      ] as string,
    );
    const aggPort = await freePort();
    const orbPassword = path.join(work, "orbstack.password");
    await writeFile(orbPassword, cred("orbstack"));
    const agg = await localConfig("orbstack", aggPort, { password: orbPassword });
    aggregatorUrl = `http://127.0.0.1:${aggPort}`;
    const aggArgs = agg.args.map((a) =>
      a.startsWith("--config.file=")
        ? `--config.file=${agg.configFile}`
        : a.startsWith("--storage.tsdb.path=")
          ? `--storage.tsdb.path=${path.join(work, "agg-data")}`
          : a.startsWith("--web.config.file=")
            ? `--web.config.file=${webConfig}`
            : a,
    );
    await start(
      "orbstack",
      [...aggArgs, `--web.listen-address=127.0.0.1:${aggPort}`],
      aggPort,
      async () => (await request(`${aggregatorUrl}/-/ready`, { auth: asAggregator() })).status === 200,
    );
    proxy = await tlsProxy(work, aggPort);

    // kind: right password, right CA; edge-1: wrong password; edge-2: right password, wrong CA
    const agents = [
      { name: "kind", password: cred("kind"), ca: "test-ca.crt" },
      { name: "edge-1", password: "not-the-password", ca: "test-ca.crt" },
      { name: "edge-2", password: cred("edge-2"), ca: "wrong-ca.crt" },
    ];
    for (const a of agents) {
      const port = await freePort();
      const passwordFile = path.join(work, `${a.name}.password`);
      await writeFile(passwordFile, a.password);
      const local = await localConfig(a.name, port, {
        password: passwordFile,
        ca: path.join(work, a.ca),
        remoteWrite: `https://127.0.0.1:${proxy.port}/api/v1/write`,
      });
      const wal = `--storage.agent.path=${path.join(work, `${a.name}-wal`)}`;
      const args = local.args
        .filter((x) => !x.startsWith("--storage.agent.path="))
        .map((x) => (x.startsWith("--config.file=") ? `--config.file=${local.configFile}` : x));
      await start(a.name, [...args, wal, `--web.listen-address=127.0.0.1:${port}`], port);
    }
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline && (await query('count(up{cluster="kind"})')).length === 0) await sleep(500);
    await sleep(3000); // a few more batches from every agent
  }, 90_000);

  afterAll(async () => {
    proxy?.close();
    await Promise.allSettled(processes.map((p) => p.stop()));
  });

  it("an enrolled agent's samples arrive with its cluster label; the aggregator scrapes itself with its credential", async () => {
    expect((await query('up{cluster="kind"}')).length).toBeGreaterThan(0);
    expect((await query('up{job="prometheus",cluster="orbstack"}')).map((s) => s.value[1])).toEqual(["1"]);
  });

  it(
    "a wrong password is rejected with HTTP 401 and nothing of it is stored",
    { timeout: 30_000 },
    async () => {
      expect(await query('count({cluster="edge-1"})')).toEqual([]);
      // The web config answers before Prometheus' instrumented handlers, so the 401s are seen at the ingress.
      for (let waited = 0; waited < 20_000 && !proxy.answers.some((a) => a.user === "edge-1"); waited += 500)
        await sleep(500);
      const statuses = (user: string) =>
        new Set(
          proxy.answers.filter((a) => a.user === user && a.path === "/api/v1/write").map((a) => a.status),
        );
      expect(statuses("edge-1"), JSON.stringify(proxy.answers.slice(0, 8))).toEqual(new Set([401]));
      expect(statuses("kind")).toEqual(new Set([204]));
    },
  );

  it("an unauthenticated write, and a query with a wrong password, are answered 401", async () => {
    const ca = await readFile(path.join(work, "test-ca.crt"));
    expect(
      (await request(`https://127.0.0.1:${proxy.port}/api/v1/write`, { method: "POST", body: "x", ca }))
        .status,
    ).toBe(401);
    expect((await request(`${aggregatorUrl}/api/v1/query?query=up`, { auth: "orbstack:guess" })).status).toBe(
      401,
    );
  });

  it("an agent that does not trust the aggregator's CA never gets its samples through", async () => {
    expect(await query('count({cluster="edge-2"})')).toEqual([]);
    const edge2 = processes.find((p) => p.name === "edge-2") as PrometheusProcess;
    expect(await edge2.logTail(200)).toMatch(/x509|certificate signed by unknown authority/);
  });
});
