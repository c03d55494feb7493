/**
 * End-to-end proof on real Prometheus (Debian's 2.42): an aggregator with the remote-write
 * receiver and three agent-mode Prometheus, all started from rendered package values with
 * only the local-e2e overlay applied (overlays/testing/local-e2e.yaml). Each cluster scrapes
 * its own kube-state-metrics stand-in whose truth (pods per namespace) the test knows.
 *
 * Needs a prometheus binary (PROMFLEET_PROMETHEUS or /usr/bin/prometheus) and ytt (PROMFLEET_YTT,
 * .tools/bin/ytt or PATH): locally a missing one skips with the reason, under CI=true it fails.
 * Runtime ≈ 1.5–2 minutes, most of it the 60 s aggregator outage.
 */
import { describeWith } from "./support/prerequisites.js";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { e2eSkipReason } from "./support/e2e/env.js";
import { Fleet } from "./support/e2e/fleet-harness.js";
import {
  AGENTS,
  AGGREGATOR,
  clusterInput,
  examplePods,
  loadFleetValues,
  withExternalClusterLabel,
} from "./support/e2e/fleet-input.js";
import { sumMetric, type MatrixSeries } from "./support/e2e/prom-api.js";
import { sleep } from "./support/e2e/prometheus-process.js";

const skipReason = e2eSkipReason();

const SCRAPE_SECONDS = 1;
const OUTAGE_SECONDS = 60;
const ALL = [AGGREGATOR, ...AGENTS];
const agentRe = AGENTS.join("|");

/** Timings measured in this run, printed at the end. */
const timings: Record<string, string> = {};
const nowS = () => Date.now() / 1000;
/** When the aggregator first had data from every cluster (agents scrape ~5s after start). */
let tAllData = 0;

interface RemoteCounters {
  dropped?: number;
  failed?: number;
  retried?: number;
  pending?: number;
}

describeWith(skipReason, "e2e: aggregator + agents on real Prometheus", () => {
  let fleet: Fleet | undefined;
  const f = () => {
    if (!fleet) throw new Error("fleet did not start");
    return fleet;
  };

  async function remoteCounters(name: string): Promise<RemoteCounters> {
    const m = await f().metricsOf(name);
    return {
      dropped: sumMetric(m, "prometheus_remote_storage_samples_dropped_total"),
      failed: sumMetric(m, "prometheus_remote_storage_samples_failed_total"),
      retried: sumMetric(m, "prometheus_remote_storage_samples_retried_total"),
      pending: sumMetric(m, "prometheus_remote_storage_samples_pending"),
    };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    fleet = await Fleet.start(await loadFleetValues(), {
      scrapeInterval: `${SCRAPE_SECONDS}s`,
      maxLifetimeSeconds: 300,
      label: "e2e",
    });
    timings["fleet start (4 processes ready)"] = `${Date.now() - t0} ms`;
  }, 90_000);

  afterAll(async () => {
    await fleet?.close();
    console.log(
      `[e2e] timings:\n${Object.entries(timings)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join("\n")}`,
    );
  }, 60_000);

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => fleet?.markFailed());
  });

  it("sum(kube_pod_info) by (cluster, namespace) on the aggregator equals every exporter's truth", async () => {
    const expected: Record<string, number> = {};
    for (const name of ALL)
      for (const [ns, n] of f().member(name).exporter.truth()) expected[`${name}/${ns}`] = n;
    let actual: Record<string, number> = {};
    const waited = await Fleet.until("kube_pod_info from every cluster", 45_000, async () => {
      const r = await f().api.query("sum by (cluster, namespace) (kube_pod_info)");
      actual = Object.fromEntries(
        r.map((s) => [`${s.metric.cluster}/${s.metric.namespace}`, Number(s.value[1])]),
      );
      return (
        JSON.stringify(Object.entries(actual).sort()) === JSON.stringify(Object.entries(expected).sort())
      );
    }).catch(() => -1);
    tAllData = nowS();
    timings["first data from all clusters at aggregator"] =
      waited < 0 ? "not reached" : `${waited} ms after fleet start`;
    expect(actual).toEqual(expected);
  }, 60_000);

  it("every kube_pod_info series carries the cluster of the exporter it came from", async () => {
    const owner = new Map<string, string>();
    for (const name of ALL) {
      const m = f().member(name);
      for (const p of m.exporter.pods) owner.set(m.exporter.uidOf(p), name);
    }
    const series = await f().api.series(["kube_pod_info"], f().startedAt / 1000 - 60);
    expect(series.length).toBe(owner.size);
    const wrong = series.filter((s) => !s.uid || owner.get(s.uid) !== s.cluster);
    expect(wrong).toEqual([]);
  });

  it("agents' series carry their own cluster, the aggregator's own series carry cluster=orbstack", async () => {
    const clustersOf = async (q: string) =>
      (await f().api.query(q)).map((s) => s.metric.cluster ?? "<none>").sort();
    // Only agent-mode Prometheus exports prometheus_agent_*; only the server exports prometheus_tsdb_head_series.
    expect(await clustersOf('count by (cluster) ({__name__=~"prometheus_agent_.+"})')).toEqual(
      [...AGENTS].sort(),
    );
    expect(await clustersOf("count by (cluster) (prometheus_tsdb_head_series)")).toEqual([AGGREGATOR]);
    // Both scrape jobs exist for every cluster, each labelled with it.
    const up = await f().api.query("count by (cluster, job) (up)");
    expect(up.map((s) => `${s.metric.cluster}/${s.metric.job}`).sort()).toEqual(
      ALL.flatMap((c) => [`${c}/kube-state-metrics`, `${c}/prometheus`]).sort(),
    );
    // The aggregator's own series: its jobs' targets carry cluster=orbstack.
    const own = await f().api.series(['{job=~"prometheus|kube-state-metrics", instance=~".+"}'], nowS() - 30);
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((s) => !ALL.includes(s.cluster ?? ""))).toEqual([]);
  });

  it("no series on the aggregator lacks a cluster label", async () => {
    const since = f().startedAt / 1000 - 60;
    const all = await f().api.series(['{__name__=~".+"}'], since);
    expect(all.length).toBeGreaterThan(100);
    expect(await f().api.series(['{__name__=~".+", cluster=""}'], since)).toEqual([]);
    expect(await f().api.query('count({__name__=~".+", cluster=""})')).toEqual([]);
    timings["series on the aggregator"] = String(all.length);
  });

  it(
    `aggregator down ${OUTAGE_SECONDS}s: agents deliver the outage window without gaps and drop nothing`,
    async () => {
      const fl = f();
      const before = Object.fromEntries(
        await Promise.all(AGENTS.map(async (a) => [a, await remoteCounters(a)] as const)),
      );
      for (const a of AGENTS) {
        expect(
          before[a]?.dropped ?? before[a]?.failed,
          `${a}: no remote-storage drop/fail counter found`,
        ).toBeDefined();
        expect(before[a]?.dropped ?? 0).toBe(0);
        expect(before[a]?.failed ?? 0).toBe(0);
      }

      const tStop = nowS();
      await fl.stop(AGGREGATOR);
      await sleep(Math.max(0, (tStop + OUTAGE_SECONDS - nowS()) * 1000));
      const during = Object.fromEntries(
        await Promise.all(AGENTS.map(async (a) => [a, await remoteCounters(a)] as const)),
      );
      const tRestart0 = nowS();
      await fl.restart(AGGREGATOR);
      const tRestart = nowS();
      timings["aggregator outage"] =
        `${(tRestart0 - tStop).toFixed(1)} s; restart to ready ${((tRestart - tRestart0) * 1000).toFixed(0)} ms`;

      // Caught up when every kube_pod_info series of every agent has a sample after the restart.
      const catchUp = await Fleet.until("agents to catch up after the outage", 60_000, async () => {
        const r = await fl.api.query(`min by (cluster) (timestamp(kube_pod_info{cluster=~"${agentRe}"}))`);
        return AGENTS.every((a) => Number(r.find((s) => s.metric.cluster === a)?.value[1] ?? 0) >= tRestart);
      });
      timings["backlog delivered (all agents past restart)"] = `${catchUp} ms after the aggregator was ready`;

      // From 5s before the stop (or the first data, if the fleet is younger than that).
      const start = Math.max(tStop - 5, tAllData);
      const end = tRestart + 1;
      // query_range with step < scrape interval: at each step, how old is the newest sample of the
      // *least* fresh kube_pod_info series of the cluster? A lost sample shows as a lag ≥ 1.5 intervals
      // (plain instant values would hide gaps behind the 5m lookback).
      const step = SCRAPE_SECONDS / 4;
      const lagRange = await fl.api.queryRange(
        `min by (cluster) (timestamp(kube_pod_info{cluster=~"${agentRe}"}))`,
        start,
        end,
        step,
      );
      // Raw samples of every series: the exact intervals between consecutive samples.
      const raw = await fl.api.queryMatrix(
        `kube_pod_info{cluster=~"${agentRe}"}[${Math.ceil(end - start)}s]`,
        end,
      );

      const report: string[] = [];
      for (const a of AGENTS) {
        const lagSeries = lagRange.find((s) => s.metric.cluster === a);
        expect(lagSeries, `${a}: no kube_pod_info in the outage window`).toBeDefined();
        const lags = (lagSeries as MatrixSeries).values.map(([t, v]) => t - Number(v));
        expect(lags.length).toBeGreaterThanOrEqual(Math.floor((end - start) / step) - 1);
        const maxLag = Math.max(...lags);

        const mine = raw.filter((s) => s.metric.cluster === a);
        expect(mine.length).toBe(f().member(a).exporter.pods.length);
        let maxInterval = 0;
        let samples = 0;
        for (const s of mine) {
          const ts = s.values.map(([t]) => t);
          samples += ts.length;
          // The window may open just before the stop: its first sample is at most one scrape after it.
          expect(ts[0] as number).toBeLessThanOrEqual(tStop + SCRAPE_SECONDS);
          expect(ts[ts.length - 1] as number).toBeGreaterThanOrEqual(tRestart);
          for (let i = 1; i < ts.length; i++)
            maxInterval = Math.max(maxInterval, (ts[i] as number) - (ts[i - 1] as number));
        }
        report.push(
          `${a}: max lag ${maxLag.toFixed(2)} s, max sample interval ${maxInterval.toFixed(2)} s, ${samples} samples in ${(end - start).toFixed(0)} s over ${mine.length} series`,
        );
        expect(maxLag, `${a}: gap in kube_pod_info during the outage`).toBeLessThan(1.5 * SCRAPE_SECONDS);
        expect(maxInterval, `${a}: missing kube_pod_info samples during the outage`).toBeLessThan(
          1.5 * SCRAPE_SECONDS,
        );
      }

      const after = Object.fromEntries(
        await Promise.all(AGENTS.map(async (a) => [a, await remoteCounters(a)] as const)),
      );
      for (const a of AGENTS) {
        expect(after[a]?.dropped ?? 0, `${a}: samples dropped`).toBe(0);
        expect(after[a]?.failed ?? 0, `${a}: samples failed`).toBe(0);
        report.push(
          `${a}: pending at end of outage ${during[a]?.pending}, retried ${before[a]?.retried} -> ${after[a]?.retried}, dropped ${after[a]?.dropped}, failed ${after[a]?.failed}`,
        );
      }
      timings["outage details"] = "\n    " + report.join("\n    ");
    },
    (OUTAGE_SECONDS + 100) * 1000,
  );

  it("an agent restarted during an aggregator outage does not re-send what it scraped before the restart (documented limit)", async () => {
    // Prometheus's remote-write WAL watcher only sends samples newer than its own start, so a
    // backlog that was still unsent when the agent restarted is skipped. Other agents are unaffected.
    const fl = f();
    const tStop = nowS();
    await fl.stop(AGGREGATOR);
    await sleep(8_000);
    const tAgentDown = nowS();
    await fl.stop("edge-2", 2_000); // it would otherwise try to flush to the dead aggregator for 1m
    await fl.restart("edge-2");
    const tAgentUp = nowS();
    await sleep(7_000);
    await fl.restart(AGGREGATOR);
    const tBack = nowS();
    await Fleet.until("kind and edge-2 to catch up", 60_000, async () => {
      const r = await fl.api.query(`min by (cluster) (timestamp(kube_pod_info{cluster=~"kind|edge-2"}))`);
      return ["kind", "edge-2"].every(
        (a) => Number(r.find((s) => s.metric.cluster === a)?.value[1] ?? 0) >= tBack,
      );
    });
    const start = tStop - 3;
    const raw = await fl.api.queryMatrix(
      `kube_pod_info{cluster=~"kind|edge-2"}[${Math.ceil(tBack + 1 - start)}s]`,
      tBack + 1,
    );
    const maxGap = (cluster: string) => {
      let gap = 0;
      let from = 0;
      for (const s of raw.filter((x) => x.metric.cluster === cluster)) {
        const ts = s.values.map(([t]) => t);
        for (let i = 1; i < ts.length; i++) {
          const d = (ts[i] as number) - (ts[i - 1] as number);
          if (d > gap) [gap, from] = [d, ts[i - 1] as number];
        }
      }
      return { gap, from };
    };
    const kind = maxGap("kind");
    const edge2 = maxGap("edge-2");
    timings["agent restart during outage"] =
      `aggregator down ${(tBack - tStop).toFixed(1)} s, edge-2 restarted ${(tAgentDown - tStop).toFixed(1)} s into it; ` +
      `largest gap kind ${kind.gap.toFixed(2)} s, edge-2 ${edge2.gap.toFixed(2)} s starting ${(edge2.from - tStop).toFixed(1)} s after the stop`;
    expect(kind.gap).toBeLessThan(1.5 * SCRAPE_SECONDS);
    // edge-2 lost (at least) what it scraped between the aggregator stop and its own restart.
    expect(edge2.gap).toBeGreaterThan(tAgentDown - tStop);
    expect(edge2.from).toBeLessThan(tStop + 1);
    expect(edge2.from + edge2.gap).toBeGreaterThanOrEqual(tAgentUp);
  }, 120_000);

  it("two agents claiming cluster=kind: the receiver rejects their colliding writes with HTTP 400", async () => {
    const fl = f();
    const write400 = async () =>
      sumMetric(await fl.metricsOf(AGGREGATOR), "prometheus_http_requests_total", {
        handler: "/api/v1/write",
        code: "400",
      }) ?? 0;
    const before400 = await write400();
    const beforeEdge = await remoteCounters("edge-2");

    // edge-1's values copied with the cluster name left at "kind": the classic copy-paste mistake.
    const clone = clusterInput(
      "kind-clone",
      withExternalClusterLabel(fl.member("edge-1").input.valuesYaml, "kind"),
      examplePods("kind-clone"),
    );
    const t0 = Date.now();
    await fl.addMember(clone);
    const waited = await Fleet.until(
      "HTTP 400 on /api/v1/write",
      45_000,
      async () => (await write400()) > before400,
    );
    const after400 = await write400();
    const kind = await remoteCounters("kind");
    const kindClone = await remoteCounters("kind-clone");
    const edge = await remoteCounters("edge-2");
    const log = await fl.aggregator.process.logTail(400);
    const rejected = log.split("\n").filter((l) => /out of order|duplicate sample|out of bounds/i.test(l));
    timings["duplicate cluster name"] =
      `first 400 after ${waited} ms (clone started ${Date.now() - t0} ms ago); 400s: ${before400} -> ${after400}; ` +
      `failed samples kind=${kind.failed} kind-clone=${kindClone.failed}; aggregator log lines about rejected samples: ${rejected.length}` +
      (rejected[0] ? `\n    e.g. ${rejected[0].slice(0, 300)}` : "");

    expect(after400).toBeGreaterThan(before400);
    // The agent treats 400 as unrecoverable: the batch is not retried but counted as failed.
    expect((kind.failed ?? 0) + (kindClone.failed ?? 0)).toBeGreaterThan(0);
    expect(rejected.length).toBeGreaterThan(0);
    // Unrelated clusters are unaffected.
    expect(edge.failed ?? 0).toBe(beforeEdge.failed ?? 0);
    await fl.stop("kind-clone", 5_000);
  }, 90_000);
});
