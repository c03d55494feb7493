/**
 * Proof on a real distributed store: three `thanos receive` in one hashring with replication factor 2,
 * `thanos query` in front, and three agents rendered by promfleet for `kind: thanos-receive` with one
 * tenant per cluster (real Prometheus in agent mode, localised only by overlays/testing/local-e2e.yaml,
 * which keeps the rendered THANOS-TENANT header). Thanos Receive stores each write under the tenant its
 * header names, as the label `tenant_id`; a second `thanos query` with --query.enforce-tenancy answers
 * only the tenant of the request's THANOS-TENANT header. One receiver is stopped for 60 s while the
 * agents keep writing. Needs the binaries of scripts/install-receiver-tools.sh; loopback only.
 *
 * The agents are upstream Prometheus 2.43.1 from that script, not Debian's 2.42.0+ds of the other
 * end-to-end tests: Debian's parses remote_write `headers` but never sends them (measured), so every
 * write would land in the receivers' default tenant.
 */
import { expect, it } from "vitest";
import { promfleet } from "./helpers/fleet-repo.js";
import { describeWith } from "./support/prerequisites.js";
import { Fleet } from "./support/e2e/fleet-harness.js";
import { PromApi, fetchMetrics, sumMetric, type Labels, type MatrixSeries } from "./support/e2e/prom-api.js";
import { freePort, sleep } from "./support/e2e/prometheus-process.js";
import {
  expectedPods,
  expectRemoteWriteOfEveryAgent,
  expectVerifyReceiving,
  podsOnceSettled,
} from "./support/receiver/checks.js";
import {
  AGENT_SCRAPE_SECONDS,
  AGENTS,
  receiverSkipReason,
  useReceiverProof,
  type StoreRun,
} from "./support/receiver/stores.js";

const OUTAGE_SECONDS = 60;
/**
 * Samples lost to the outage would leave a hole as long as the outage (60 s = 30 scrapes); on a busy
 * 2-core CI machine the agent's own scrapes run late by a few seconds (seen: 6 s once), which is no loss.
 */
const GAP_SCRAPES = 5;
const RECEIVERS = 3;
/** The receiver stopped for the outage: edge-2 writes to it, the others reach it through the hashring. */
const STOPPED = 2;

const RECEIVER_SPEC = `  url: https://thanos-receive.example.com/api/v1/receive
  receiver:
    kind: thanos-receive
    queryUrl: https://thanos-query.example.com
    tenancy: per-cluster
    aggregatorCluster: keep
`;

const nowS = () => Date.now() / 1000;

/** Raw samples of a range selector from every replica, united per series (receive_replica dropped). */
async function unitedReplicas(queryUrl: string, selector: string, time: number): Promise<MatrixSeries[]> {
  const body = new URLSearchParams({ query: selector, time: time.toFixed(3), dedup: "false" });
  const res = await fetch(`${queryUrl}/api/v1/query`, {
    method: "POST",
    body,
    signal: AbortSignal.timeout(20_000),
  });
  const answer = (await res.json()) as { data: { result: MatrixSeries[] } };
  const united = new Map<string, { metric: Labels; times: Set<number> }>();
  for (const s of answer.data.result) {
    const metric = Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== "receive_replica"));
    const key = JSON.stringify(Object.entries(metric).sort());
    const entry = united.get(key) ?? { metric, times: new Set<number>() };
    for (const [t] of s.values) entry.times.add(t);
    united.set(key, entry);
  }
  return [...united.values()].map(({ metric, times }) => ({
    metric,
    values: [...times].sort((a, b) => a - b).map((t) => [t, "1"] as [number, string]),
  }));
}

describeWith(
  receiverSkipReason("thanos", "prometheus"),
  "Thanos Receive hashring (RF 2) behind Thanos Query",
  () => {
    let query: PromApi;
    let queryUrl = "";
    /** The Thanos Query that enforces tenancy: it answers only the THANOS-TENANT header's tenant. */
    let tenantQueryUrl = "";
    const receiverPorts: { http: number; grpc: number; write: number; capnp: number }[] = [];

    async function startReceivers(run: StoreRun) {
      for (let i = 0; i < RECEIVERS; i++)
        receiverPorts.push({
          http: await freePort(),
          grpc: await freePort(),
          write: await freePort(),
          capnp: await freePort(),
        });
      const hashring = JSON.stringify([{ endpoints: receiverPorts.map((p) => `127.0.0.1:${p.grpc}`) }]);
      await Promise.all(
        receiverPorts.map((p, i) =>
          run.startStore(
            `receive-${i}`,
            "thanos",
            [
              "receive",
              `--http-address=127.0.0.1:${p.http}`,
              `--grpc-address=127.0.0.1:${p.grpc}`,
              `--remote-write.address=127.0.0.1:${p.write}`,
              `--receive.capnproto-address=127.0.0.1:${p.capnp}`,
              `--tsdb.path=${run.runDir}/receive-${i}/data`,
              `--label=receive_replica="${i}"`,
              `--receive.local-endpoint=127.0.0.1:${p.grpc}`,
              `--receive.hashrings=${hashring}`,
              "--receive.replication-factor=2",
            ],
            p.http,
            "/-/ready",
          ),
        ),
      );
    }

    async function startQuery(run: StoreRun, name: string, extraArgs: string[]): Promise<string> {
      const q = { http: await freePort(), grpc: await freePort() };
      await run.startStore(
        name,
        "thanos",
        [
          "query",
          `--http-address=127.0.0.1:${q.http}`,
          `--grpc-address=127.0.0.1:${q.grpc}`,
          "--query.replica-label=receive_replica",
          ...receiverPorts.map((p) => `--endpoint=127.0.0.1:${p.grpc}`),
          ...extraArgs,
        ],
        q.http,
        "/-/ready",
      );
      return `http://127.0.0.1:${q.http}`;
    }

    const proof = useReceiverProof({
      label: "thanos",
      lifetimeSeconds: 400,
      receiverYaml: RECEIVER_SPEC,
      upstreamAgents: true,
      startTimeoutMs: 180_000,
      startStore: async (run) => {
        await startReceivers(run);
        queryUrl = await startQuery(run, "query", []);
        tenantQueryUrl = await startQuery(run, "query-tenancy", ["--query.enforce-tenancy"]);
        query = new PromApi(queryUrl);
        return (_agent, i) =>
          `http://127.0.0.1:${(receiverPorts[i % RECEIVERS] as { write: number }).write}/api/v1/receive`;
      },
    });

    it("renders the tenant header and the cluster label into every agent's remote_write", () => {
      expectRemoteWriteOfEveryAgent(
        proof.values,
        "https://thanos-receive.example.com/api/v1/receive",
        "THANOS-TENANT",
      );
    });

    it("sum(kube_pod_info) by (cluster, namespace) through Thanos Query equals every exporter's truth", async () => {
      const expected = expectedPods(proof.truth, AGENTS);
      const actual = await podsOnceSettled(query, expected, "kube_pod_info from every cluster", 90_000);
      expect(actual).toEqual(expected);
    }, 120_000);

    it("every cluster's series are stored in its own tenant (tenant_id == cluster)", async () => {
      const byTenant = await query.query("sum by (tenant_id, cluster) (kube_pod_info)");
      expect(byTenant.map((s) => `${s.metric.tenant_id}/${s.metric.cluster}`).sort()).toEqual(
        AGENTS.map((a) => `${a}/${a}`).sort(),
      );
    });

    it("a query with --query.enforce-tenancy sees only the tenant of its THANOS-TENANT header", async () => {
      for (const a of AGENTS) {
        const tenantApi = new PromApi(tenantQueryUrl, { "THANOS-TENANT": a });
        // Thanos Query learns each receiver's tenants (their tenant_id label sets) every few seconds and
        // skips a receiver not known to hold the asked tenant, so a new tenant's series (spread over the
        // hashring) show up in full a little later.
        const expected = expectedPods(proof.truth, [a]);
        const what = `tenant ${a} through the enforcing Thanos Query`;
        expect(await podsOnceSettled(tenantApi, expected, what, 60_000), `tenant ${a}`).toEqual(expected);
      }
      // Without the header the request is the default tenant's, which nobody writes into.
      expect(await new PromApi(tenantQueryUrl).query("kube_pod_info")).toEqual([]);
    }, 200_000);

    it("promfleet verify exits 0 asking each cluster's tenant, through either Thanos Query", async () => {
      for (const url of [queryUrl, tenantQueryUrl]) await expectVerifyReceiving(proof.fleetDir, url);
    }, 90_000);

    it(
      `one receiver down ${OUTAGE_SECONDS}s: no sample lost, no gap in any cluster's series, verify 0 after`,
      async () => {
        const tStop = nowS();
        await proof.run.member(`receive-${STOPPED}`).process.stop();
        await sleep(OUTAGE_SECONDS * 1000);
        await proof.run.member(`receive-${STOPPED}`).process.start();
        const tBack = nowS();
        await Fleet.until("every agent past the restart", 120_000, async () => {
          const newest = await query.query("min by (cluster) (timestamp(kube_pod_info))");
          return AGENTS.every(
            (a) => Number(newest.find((s) => s.metric.cluster === a)?.value[1] ?? 0) >= tBack,
          );
        });
        // A gap: two consecutive samples of one kube_pod_info series further apart than GAP_SCRAPES scrape
        // intervals, or a series whose samples start after the stop or end before the restart. Samples
        // are read raw (a range selector) from every replica (dedup=false) and united per series: a sample
        // counts as stored when any receiver holds it (Thanos Query's deduplication may skip a few seconds
        // where it switches replicas, which is its choice, not a loss).
        const start = tStop - 5;
        const end = tBack + 5;
        const raw = await unitedReplicas(queryUrl, `kube_pod_info[${Math.ceil(end - start)}s]`, end);
        const report: string[] = [];
        for (const a of AGENTS) {
          const mine = raw.filter((s) => s.metric.cluster === a);
          expect(mine.length, `${a}: kube_pod_info series`).toBe(
            Object.values(proof.truth.get(a) ?? {}).reduce((x, y) => x + y, 0),
          );
          let maxInterval = 0;
          for (const s of mine) {
            const ts = s.values.map(([t]) => t);
            expect(ts[0] as number, `${a}: first sample in the window`).toBeLessThanOrEqual(
              tStop + AGENT_SCRAPE_SECONDS,
            );
            expect(ts[ts.length - 1] as number, `${a}: last sample in the window`).toBeGreaterThanOrEqual(
              tBack,
            );
            for (let i = 1; i < ts.length; i++)
              maxInterval = Math.max(maxInterval, (ts[i] as number) - (ts[i - 1] as number));
          }
          report.push(
            `${a}: ${mine.length} series, largest interval between samples ${maxInterval.toFixed(2)} s`,
          );
          expect(maxInterval, `${a}: gap in kube_pod_info across the outage`).toBeLessThan(
            GAP_SCRAPES * AGENT_SCRAPE_SECONDS,
          );
          const metrics = await fetchMetrics(proof.run.member(a).process.url);
          expect(
            sumMetric(metrics, "prometheus_remote_storage_samples_dropped_total") ?? 0,
            `${a} dropped`,
          ).toBe(0);
          expect(
            sumMetric(metrics, "prometheus_remote_storage_samples_failed_total") ?? 0,
            `${a} failed`,
          ).toBe(0);
        }
        console.log(`[receiver] outage ${OUTAGE_SECONDS}s of receive-${STOPPED}:\n  ${report.join("\n  ")}`);
        const { code, stderr } = await promfleet(proof.fleetDir, ["verify", "--aggregator-url", queryUrl]);
        expect(code, stderr).toBe(0);
      },
      (OUTAGE_SECONDS + 200) * 1000,
    );
  },
);
