/**
 * VictoriaMetrics single-node (v1.151.0, built by scripts/install-receiver-tools.sh) as the fleet's store:
 * the same three promfleet-rendered agents as the Thanos proof write to it; the article's query answers
 * per cluster and `promfleet verify` exits 0. Single-node has no tenants (tenancy: none): the `cluster`
 * external label alone tells clusters apart. Loopback only.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { promConfigOf } from "./helpers/values.js";
import { promfleet } from "./helpers/fleet-repo.js";
import { describeWith } from "./support/prerequisites.js";
import { Fleet } from "./support/e2e/fleet-harness.js";
import { PromApi } from "./support/e2e/prom-api.js";
import { freePort } from "./support/e2e/prometheus-process.js";
import { AGENTS, receiverSkipReason, renderReceiverFleet, StoreRun } from "./support/receiver/stores.js";

const RECEIVER_SPEC = `  url: https://victoria-metrics.example.com/api/v1/write
  receiver:
    kind: victoriametrics
    queryUrl: https://victoria-metrics.example.com
    tenancy: none
    aggregatorCluster: keep
`;

describeWith(receiverSkipReason("victoria-metrics"), "VictoriaMetrics single-node as the store", () => {
  let run: StoreRun | undefined;
  let fleetDir = "";
  let vmUrl = "";
  let values = new Map<string, string>();
  const truth = new Map<string, Record<string, number>>();
  const r = () => {
    if (!run) throw new Error("the store did not start");
    return run;
  };

  beforeAll(async () => {
    run = await StoreRun.create("vm", 240);
    const rendered = await renderReceiverFleet(RECEIVER_SPEC);
    fleetDir = rendered.dir;
    values = rendered.values;
    const port = await freePort();
    await r().startStore(
      "victoria-metrics",
      "victoria-metrics",
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${r().runDir}/victoria-metrics/data`,
        "-retentionPeriod=1d",
        // Queries see samples as soon as they are written (default: only those older than 30s).
        "-search.latencyOffset=0s",
        "-search.disableCache",
      ],
      port,
      "/health",
    );
    vmUrl = `http://127.0.0.1:${port}`;
    await Promise.all(
      AGENTS.map(async (a) => {
        const { exporter } = await r().startAgent(a, values.get(a) as string, `${vmUrl}/api/v1/write`, "2s");
        truth.set(a, Object.fromEntries(exporter.truth()));
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await run?.close();
    if (fleetDir) await rm(fleetDir, { recursive: true, force: true });
  }, 60_000);

  beforeEach(({ onTestFailed }) => onTestFailed(() => run?.markFailed()));

  it("renders the plain write URL, no tenant header, and the cluster label", () => {
    for (const a of AGENTS) {
      const yml = promConfigOf(values.get(a) as string);
      expect(yml.remote_write).toHaveLength(1);
      expect(yml.remote_write?.[0]?.url).toBe("https://victoria-metrics.example.com/api/v1/write");
      expect(yml.remote_write?.[0]).not.toHaveProperty("headers");
      expect(yml.global.external_labels).toMatchObject({ cluster: a });
    }
  });

  it("sum(kube_pod_info) by (cluster, namespace) equals every exporter's truth", async () => {
    const expected = Object.fromEntries(
      [...truth].flatMap(([c, byNs]) => Object.entries(byNs).map(([ns, n]) => [`${c}/${ns}`, n])),
    );
    let actual: Record<string, number> = {};
    await Fleet.until("kube_pod_info from every cluster", 90_000, async () => {
      const answer = await new PromApi(vmUrl).query("sum(kube_pod_info) by (cluster, namespace)");
      actual = Object.fromEntries(
        answer.map((s) => [`${s.metric.cluster}/${s.metric.namespace}`, Number(s.value[1])]),
      );
      return (
        JSON.stringify(Object.entries(actual).sort()) === JSON.stringify(Object.entries(expected).sort())
      );
    }).catch(() => undefined);
    expect(actual).toEqual(expected);
  }, 120_000);

  it("promfleet verify exits 0 against VictoriaMetrics' /api/v1/query", async () => {
    const { code, stdout, stderr } = await promfleet(fleetDir, [
      "verify",
      "--aggregator-url",
      vmUrl,
      "--wait",
      "60s",
      "--json",
    ]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { clusters: { cluster: string; status: string }[] };
    expect(result.clusters.map((c) => `${c.cluster}:${c.status}`)).toEqual(
      AGENTS.map((a) => `${a}:receiving`),
    );
  }, 90_000);
});
