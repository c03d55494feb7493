/**
 * verifyFleet: against small fake servers (always), and against a real aggregator with two
 * agents started by the e2e harness (skipped with a message when Prometheus/ytt/shared are
 * missing). The real part takes ≈ 20–30 s.
 */
import { describeWith } from "./support/prerequisites.js";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PromfleetError } from "../src/util/errors.js";
import { verifyFleet, VerifyError, type VerifyResult } from "../src/verify/index.js";
import { e2eSkipReason } from "./support/e2e/env.js";
import { exampleFleetRepo, promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { Fleet } from "./support/e2e/fleet-harness.js";
import { AGGREGATOR, loadFleetValues } from "./support/e2e/fleet-input.js";
import { freePort } from "./support/e2e/prometheus-process.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
interface Fake {
  url: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function fakeServer(handler: Handler, tls?: { key: Buffer; cert: Buffer }): Promise<Fake> {
  const requests: Fake["requests"] = [];
  const wrapped: Handler = (req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, wrapped) : http.createServer(wrapped);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

/** The query the README documents under "Verifying a fleet", written out independently of the code. */
const DOCUMENTED_QUERY =
  'max by (cluster) (timestamp(up{cluster!=""})) or max by (cluster) (max_over_time(timestamp(up{cluster!=""})[3600s:60s]))';

const vector = (evalTime: number, newest: Record<string, number>) => ({
  status: "success",
  data: {
    resultType: "vector",
    result: Object.entries(newest).map(([cluster, ts]) => ({
      metric: { cluster },
      value: [evalTime, String(ts)],
    })),
  },
});

async function verifyError(p: Promise<unknown>): Promise<VerifyError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(VerifyError);
    return e as VerifyError;
  }
  throw new Error("expected a VerifyError");
}

describe("verifyFleet (fake aggregators)", () => {
  const fakes: Fake[] = [];
  const fake = async (h: Handler, tls?: { key: Buffer; cert: Buffer }) => {
    const f = await fakeServer(h, tls);
    fakes.push(f);
    return f;
  };
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });

  it("classifies receiving / stale / missing from the newest sample per cluster", async () => {
    const now = 1_800_000_000_000;
    const srv = await fake((_req, res) =>
      json(res, 200, vector(now / 1000, { a: now / 1000 - 9.5, b: now / 1000 - 110, extra: now / 1000 })),
    );
    const r = await verifyFleet({
      aggregatorUrl: srv.url,
      clusters: ["a", "b", "c"],
      maxStalenessSeconds: 10,
      waitSeconds: 0,
      now: () => now,
    });
    expect(r).toEqual<VerifyResult>({
      ok: false,
      query: DOCUMENTED_QUERY,
      clusters: [
        { cluster: "a", status: "receiving", lastSampleAgeSeconds: 9.5 },
        { cluster: "b", status: "stale", lastSampleAgeSeconds: 110 },
        { cluster: "c", status: "missing" },
      ],
    });
    const u = new URL(srv.requests[0]?.url ?? "", srv.url);
    expect(u.pathname).toBe("/api/v1/query");
    expect(u.searchParams.get("query")).toBe(DOCUMENTED_QUERY);
    expect(u.searchParams.get("time")).toBe("1800000000.000");
  });

  it("runs the query the README documents", async () => {
    const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
    expect(readme).toContain(`\`${DOCUMENTED_QUERY}\``);
  });

  it("reports every cluster the aggregator knows when no clusters are given; keeps a path prefix", async () => {
    const now = 1_800_000_000_000;
    const srv = await fake((req, res) =>
      req.url?.startsWith("/prom/api/v1/query?")
        ? json(res, 200, vector(now / 1000, { y: now / 1000 - 1, x: now / 1000 - 2 }))
        : json(res, 404, "nope"),
    );
    const r = await verifyFleet({
      aggregatorUrl: `${srv.url}/prom`,
      clusters: [],
      maxStalenessSeconds: 5,
      waitSeconds: 0,
      now: () => now,
    });
    expect(r.ok).toBe(true);
    expect(r.clusters.map((c) => c.cluster)).toEqual(["x", "y"]);
  });

  it("unreachable aggregator: VerifyError naming the URL", async () => {
    const port = await freePort();
    const e = await verifyError(
      verifyFleet({
        aggregatorUrl: `http://127.0.0.1:${port}`,
        clusters: ["a"],
        maxStalenessSeconds: 60,
        waitSeconds: 0,
      }),
    );
    expect(e.message).toContain(`http://127.0.0.1:${port}/api/v1/query`);
    expect(e.message).toMatch(/cannot reach the aggregator.*connection refused/);
    expect(e.status).toBeUndefined();
  });

  it("HTTP 500: VerifyError naming the URL and the status", async () => {
    const srv = await fake((_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("upstream exploded\n");
    });
    const e = await verifyError(
      verifyFleet({ aggregatorUrl: srv.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 0 }),
    );
    expect(e.message).toContain(`${srv.url}/api/v1/query`);
    expect(e.message).toContain("HTTP 500");
    expect(e.message).toContain("upstream exploded");
    expect(e.status).toBe(500);
  });

  it("Prometheus API errors (4xx with an error body) are passed on", async () => {
    const srv = await fake((_req, res) =>
      json(res, 422, { status: "error", errorType: "execution", error: "query timed out" }),
    );
    const e = await verifyError(
      verifyFleet({ aggregatorUrl: srv.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 0 }),
    );
    expect(e.message).toMatch(/HTTP 422.*execution: query timed out/);
  });

  it("garbage and wrongly shaped JSON: VerifyError 'malformed'", async () => {
    const garbage = await fake((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>login page</html>");
    });
    let e = await verifyError(
      verifyFleet({ aggregatorUrl: garbage.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 0 }),
    );
    expect(e.message).toMatch(/malformed answer \(not JSON/);
    expect(e.message).toContain(garbage.url);
    expect(e.message).toContain("login page");

    const matrix = await fake((_req, res) =>
      json(res, 200, { status: "success", data: { resultType: "matrix", result: [] } }),
    );
    e = await verifyError(
      verifyFleet({ aggregatorUrl: matrix.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 0 }),
    );
    expect(e.message).toMatch(/malformed answer: expected data.resultType "vector"/);

    const badSample = await fake((_req, res) =>
      json(res, 200, {
        status: "success",
        data: { resultType: "vector", result: [{ metric: {}, value: [1, "2"] }] },
      }),
    );
    e = await verifyError(
      verifyFleet({ aggregatorUrl: badSample.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 0 }),
    );
    expect(e.message).toMatch(/malformed sample/);

    const notSuccess = await fake((_req, res) => json(res, 200, { status: "error", error: "bad" }));
    e = await verifyError(
      verifyFleet({
        aggregatorUrl: notSuccess.url,
        clusters: ["a"],
        maxStalenessSeconds: 60,
        waitSeconds: 0,
      }),
    );
    expect(e.message).toMatch(/status="error": bad/);
  });

  it("sends basic auth or a bearer token and never puts them in messages", async () => {
    const password = "s3cr3t-pa55word";
    const token = "tok-0123456789abcdef";
    // A hostile server that echoes the Authorization header back in its error body.
    const srv = await fake((req, res) => json(res, 401, `denied for ${req.headers.authorization}`));
    let e = await verifyError(
      verifyFleet({
        aggregatorUrl: srv.url,
        clusters: ["a"],
        maxStalenessSeconds: 60,
        waitSeconds: 0,
        auth: { basic: { username: "ops", password }, allowInsecureHttpAuth: true },
      }),
    );
    expect(srv.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`,
    );
    expect(e.message).toMatch(/HTTP 401.*check the aggregator credentials/);
    expect(e.message).not.toContain(password);
    expect(e.message).not.toContain(Buffer.from(`ops:${password}`).toString("base64"));

    e = await verifyError(
      verifyFleet({
        aggregatorUrl: srv.url,
        clusters: ["a"],
        maxStalenessSeconds: 60,
        waitSeconds: 0,
        auth: { bearerToken: token, allowInsecureHttpAuth: true },
      }),
    );
    expect(srv.requests[1]?.headers.authorization).toBe(`Bearer ${token}`);
    expect(e.message).not.toContain(token);

    const withCreds = srv.url.replace("http://", `http://ops:${password}@`);
    const progress: string[] = [];
    e = await verifyError(
      verifyFleet({
        aggregatorUrl: withCreds,
        clusters: ["a"],
        maxStalenessSeconds: 60,
        waitSeconds: 0.5,
        pollIntervalSeconds: 0.2,
        onProgress: (m) => progress.push(m),
        auth: { allowInsecureHttpAuth: true },
      }),
    );
    expect(srv.requests[2]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`,
    );
    for (const text of [e.message, progress.join("\n")]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(Buffer.from(`ops:${password}`).toString("base64"));
    }
    expect(progress.length).toBeGreaterThan(0);
  });

  it("refuses to send basic auth, a bearer token or URL credentials over http:// unless asked by name", async () => {
    const t = Date.now() / 1000;
    const srv = await fake((_req, res) => json(res, 200, vector(t, { a: t })));
    const base = { aggregatorUrl: srv.url, clusters: ["a"], maxStalenessSeconds: 60, waitSeconds: 5 };
    const attempts = [
      { ...base, auth: { basic: { username: "ops", password: "pw-123456" } } },
      { ...base, auth: { bearerToken: "tok-123456" } },
      { ...base, aggregatorUrl: srv.url.replace("http://", "http://ops:pw-123456@") },
    ];
    for (const o of attempts) {
      const e = await verifyFleet(o).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(PromfleetError);
      expect((e as PromfleetError).exitCode).toBe(2);
      expect((e as Error).message).toMatch(
        /refusing to send (basic auth|a bearer token) over plain http:\/\//,
      );
      expect((e as Error).message).toContain("--allow-insecure-http-auth");
      expect((e as Error).message).not.toContain("pw-123456");
    }
    expect(srv.requests).toHaveLength(0);

    const dir = await exampleFleetRepo();
    const cli = ["verify", "--aggregator-url", srv.url, "--cluster", "a", "--username", "ops", "--json"];
    const env = { PROMFLEET_AGGREGATOR_PASSWORD: "pw-123456" };
    const refused = await promfleet(dir, cli, env);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error).toContain("--allow-insecure-http-auth");
    expect(srv.requests).toHaveLength(0);
    const allowed = await promfleet(dir, [...cli, "--allow-insecure-http-auth"], env);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(srv.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("ops:pw-123456").toString("base64")}`,
    );
    // without credentials, plain http:// needs no flag
    expect((await verifyFleet(base)).ok).toBe(true);
  });

  it("waits: retries a failing aggregator and polls until every cluster is receiving", async () => {
    let calls = 0;
    const srv = await fake((_req, res) => {
      calls++;
      const t = Date.now() / 1000;
      if (calls === 1)
        return json(res, 503, { status: "error", errorType: "unavailable", error: "starting" });
      if (calls === 2) return json(res, 200, vector(t, { a: t - 1 }));
      return json(res, 200, vector(t, { a: t - 1, b: t - 2 }));
    });
    const progress: string[] = [];
    const t0 = Date.now();
    const r = await verifyFleet({
      aggregatorUrl: srv.url,
      clusters: ["a", "b"],
      maxStalenessSeconds: 10,
      waitSeconds: 10,
      pollIntervalSeconds: 0.1,
      onProgress: (m) => progress.push(m),
    });
    expect(r.ok).toBe(true);
    expect(calls).toBe(3);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(progress[0]).toMatch(/HTTP 503.*retrying/);
    expect(progress[1]).toMatch(/a receiving .* b missing/);
  });

  it("gives up after waitSeconds with ok=false", async () => {
    const srv = await fake((_req, res) => json(res, 200, vector(Date.now() / 1000, {})));
    const t0 = Date.now();
    const r = await verifyFleet({
      aggregatorUrl: srv.url,
      clusters: ["a"],
      maxStalenessSeconds: 10,
      waitSeconds: 0.6,
      pollIntervalSeconds: 0.2,
    });
    expect(r).toMatchObject({ ok: false, clusters: [{ cluster: "a", status: "missing" }] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  describeWith(
    existsSync("/usr/bin/openssl") ? undefined : "no /usr/bin/openssl (apt-get install openssl)",
    "https",
    () => {
      let dir = "";
      let tls: { key: Buffer; cert: Buffer };
      beforeAll(async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-verify-tls-"));
        execFileSync(
          "openssl",
          [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            path.join(dir, "key.pem"),
            "-out",
            path.join(dir, "cert.pem"),
          ],
          { stdio: "ignore" },
        );
        tls = {
          key: await readFile(path.join(dir, "key.pem")),
          cert: await readFile(path.join(dir, "cert.pem")),
        };
      });
      afterAll(async () => {
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      it("rejects an untrusted certificate, accepts it with caFile or insecureSkipTlsVerify", async () => {
        const t = Date.now() / 1000;
        const srv = await fake((_req, res) => json(res, 200, vector(t, { a: t })), tls);
        const base = {
          aggregatorUrl: srv.url,
          clusters: ["a"],
          maxStalenessSeconds: 60,
          waitSeconds: 0,
          now: () => t * 1000,
        };
        const e = await verifyError(verifyFleet(base));
        expect(e.message).toMatch(/TLS certificate not trusted/);
        expect((await verifyFleet({ ...base, auth: { caFile: path.join(dir, "cert.pem") } })).ok).toBe(true);
        expect((await verifyFleet({ ...base, auth: { insecureSkipTlsVerify: true } })).ok).toBe(true);
        const missing = await verifyError(
          verifyFleet({ ...base, auth: { caFile: path.join(dir, "nope.pem") } }),
        );
        expect(missing.message).toMatch(/cannot read the CA file/);
      });
    },
  );
});

const skipReason = e2eSkipReason();

describeWith(skipReason, "verifyFleet (real aggregator + agents)", () => {
  let fleet: Fleet | undefined;
  const f = () => {
    if (!fleet) throw new Error("fleet did not start");
    return fleet;
  };
  const CLUSTERS = [AGGREGATOR, "kind", "edge-1"];
  const timings: Record<string, string> = {};

  beforeAll(async () => {
    const inputs = (await loadFleetValues()).filter((c) => CLUSTERS.includes(c.name));
    fleet = await Fleet.start(inputs, { scrapeInterval: "1s", maxLifetimeSeconds: 180, label: "verify" });
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
    console.log(
      `[verify] timings:\n${Object.entries(timings)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join("\n")}`,
    );
  }, 60_000);

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => fleet?.markFailed());
  });

  it("all clusters receiving (waiting for the first samples)", async () => {
    const t0 = Date.now();
    const r = await verifyFleet({
      aggregatorUrl: f().aggregatorUrl,
      clusters: CLUSTERS,
      maxStalenessSeconds: 10,
      waitSeconds: 45,
      pollIntervalSeconds: 1,
    });
    timings["all receiving after fleet start"] =
      `${Date.now() - f().startedAt} ms (verify waited ${Date.now() - t0} ms)`;
    expect(r.clusters.map((c) => [c.cluster, c.status])).toEqual(CLUSTERS.map((c) => [c, "receiving"]));
    expect(r.ok).toBe(true);
    for (const c of r.clusters) expect(c.lastSampleAgeSeconds).toBeLessThan(10);
    timings["ages when receiving"] = r.clusters
      .map((c) => `${c.cluster} ${c.lastSampleAgeSeconds}s`)
      .join(", ");
  }, 60_000);

  it("promfleet verify (the CLI): exit 0 when every cluster receives, 1 with the missing one named", async () => {
    const dir = await exampleFleetRepo();
    const args = ["verify", "--aggregator-url", f().aggregatorUrl, "--max-staleness", "10s", "--wait", "30s"];
    const ok = await promfleet(dir, [...args, ...CLUSTERS.flatMap((c) => ["--cluster", c])]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^CLUSTER\s+STATUS\s+LAST SAMPLE/);
    expect(ok.stdout).toMatch(/edge-1\s+receiving/);
    const ghost = await promfleet(dir, [
      "verify",
      "--aggregator-url",
      f().aggregatorUrl,
      "--cluster",
      "kind",
      "--cluster",
      "ghost",
      "--json",
    ]);
    expect(ghost.code).toBe(1);
    expect(JSON.parse(ghost.stdout).clusters).toEqual([
      expect.objectContaining({ cluster: "kind", status: "receiving" }),
      { cluster: "ghost", status: "missing" },
    ]);
    const bad = await promfleet(dir, ["verify", "--aggregator-url", f().aggregatorUrl, "--wait", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--wait soon: not a duration");
  }, 60_000);

  it("a cluster that never ran is missing", async () => {
    const r = await verifyFleet({
      aggregatorUrl: f().aggregatorUrl,
      clusters: [...CLUSTERS, "never-ran"],
      maxStalenessSeconds: 10,
      waitSeconds: 0,
    });
    expect(r.ok).toBe(false);
    expect(r.clusters.find((c) => c.cluster === "never-ran")).toEqual({
      cluster: "never-ran",
      status: "missing",
    });
    expect(r.clusters.filter((c) => c.cluster !== "never-ran").every((c) => c.status === "receiving")).toBe(
      true,
    );
  });

  it("samples older than the aggregator's 5m lookback still count as stale, not missing", async () => {
    // Evaluated 7 minutes in the future: the instant half of the query sees nothing, the subquery half must.
    const future = Date.now() + 420_000;
    const r = await verifyFleet({
      aggregatorUrl: f().aggregatorUrl,
      clusters: CLUSTERS,
      maxStalenessSeconds: 10,
      waitSeconds: 0,
      now: () => future,
    });
    expect(r.clusters.map((c) => c.status)).toEqual(CLUSTERS.map(() => "stale"));
    for (const c of r.clusters) {
      expect(c.lastSampleAgeSeconds).toBeGreaterThan(415);
      expect(c.lastSampleAgeSeconds).toBeLessThan(430);
    }
  });

  it("stopping one agent makes exactly that cluster stale", async () => {
    const fl = f();
    await fl.stop("edge-1");
    const tStop = Date.now();
    let last: VerifyResult | undefined;
    await Fleet.until(
      "edge-1 to turn stale",
      40_000,
      async () => {
        last = await verifyFleet({
          aggregatorUrl: fl.aggregatorUrl,
          clusters: CLUSTERS,
          maxStalenessSeconds: 8,
          waitSeconds: 0,
        });
        return last.clusters.find((c) => c.cluster === "edge-1")?.status === "stale";
      },
      1000,
    );
    timings["edge-1 stale after stop (maxStaleness 8s)"] = `${Date.now() - tStop} ms`;
    expect(last?.ok).toBe(false);
    expect(last?.clusters.map((c) => [c.cluster, c.status])).toEqual([
      [AGGREGATOR, "receiving"],
      ["kind", "receiving"],
      ["edge-1", "stale"],
    ]);
  }, 60_000);
});
