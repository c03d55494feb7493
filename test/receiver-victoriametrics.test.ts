/**
 * VictoriaMetrics single-node (v1.151.0, built by scripts/install-receiver-tools.sh) as the fleet's store:
 * the same three promfleet-rendered agents as the Thanos proof write to it; the article's query answers
 * per cluster and `promfleet verify` exits 0. Single-node has no tenants (tenancy: none): the `cluster`
 * external label alone tells clusters apart. Loopback only.
 */
import { expect, it } from "vitest";
import { describeWith } from "./support/prerequisites.js";
import { PromApi } from "./support/e2e/prom-api.js";
import { freePort } from "./support/e2e/prometheus-process.js";
import {
  expectedPods,
  expectRemoteWriteOfEveryAgent,
  expectVerifyReceiving,
  podsOnceSettled,
} from "./support/receiver/checks.js";
import { AGENTS, receiverSkipReason, useReceiverProof } from "./support/receiver/stores.js";

const RECEIVER_SPEC = `  url: https://victoria-metrics.example.com/api/v1/write
  receiver:
    kind: victoriametrics
    queryUrl: https://victoria-metrics.example.com
    tenancy: none
    aggregatorCluster: keep
`;

describeWith(receiverSkipReason("victoria-metrics"), "VictoriaMetrics single-node as the store", () => {
  let vmUrl = "";
  const proof = useReceiverProof({
    label: "vm",
    lifetimeSeconds: 240,
    receiverYaml: RECEIVER_SPEC,
    upstreamAgents: false,
    startTimeoutMs: 120_000,
    startStore: async (run) => {
      const port = await freePort();
      await run.startStore(
        "victoria-metrics",
        "victoria-metrics",
        [
          `-httpListenAddr=127.0.0.1:${port}`,
          `-storageDataPath=${run.runDir}/victoria-metrics/data`,
          "-retentionPeriod=1d",
          // Queries see samples as soon as they are written (default: only those older than 30s).
          "-search.latencyOffset=0s",
          "-search.disableCache",
        ],
        port,
        "/health",
      );
      vmUrl = `http://127.0.0.1:${port}`;
      return () => `${vmUrl}/api/v1/write`;
    },
  });

  it("renders the plain write URL, no tenant header, and the cluster label", () => {
    expectRemoteWriteOfEveryAgent(proof.values, "https://victoria-metrics.example.com/api/v1/write");
  });

  it("sum(kube_pod_info) by (cluster, namespace) equals every exporter's truth", async () => {
    const expected = expectedPods(proof.truth, AGENTS);
    const actual = await podsOnceSettled(
      new PromApi(vmUrl),
      expected,
      "kube_pod_info from every cluster",
      90_000,
    );
    expect(actual).toEqual(expected);
  }, 120_000);

  it("promfleet verify exits 0 against VictoriaMetrics' /api/v1/query", async () => {
    await expectVerifyReceiving(proof.fleetDir, vmUrl);
  }, 90_000);
});
