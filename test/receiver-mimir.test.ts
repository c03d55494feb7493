/**
 * Grafana Mimir (single process, `-target=all`, filesystem storage, built by
 * scripts/install-receiver-tools.sh) as the fleet's store with one tenant per cluster: the same three
 * promfleet-rendered agents as the Thanos proof (upstream Prometheus 2.43.1, which sends the rendered
 * X-Scope-OrgID header; Debian's 2.42 does not) write to /api/v1/push; the article's query through
 * /prometheus/api/v1/query with X-Scope-OrgID answers each tenant's cluster and nothing else, and
 * `promfleet verify` exits 0. Loopback only; Mimir's anonymous usage reporting is switched off.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import YAML from "yaml";
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

const RECEIVER_SPEC = `  url: https://mimir.example.com/api/v1/push
  receiver:
    kind: mimir
    queryUrl: https://mimir.example.com
    tenancy: per-cluster
    aggregatorCluster: keep
`;

/** A one-process Mimir on loopback, after Mimir's docs/configurations/demo.yaml, with tenants on. */
function mimirConfig(dir: string, http: number, grpc: number): string {
  const ring = { instance_addr: "127.0.0.1", kvstore: { store: "inmemory" } };
  return YAML.stringify({
    target: "all",
    multitenancy_enabled: true,
    usage_stats: { enabled: false },
    server: {
      http_listen_address: "127.0.0.1",
      http_listen_port: http,
      grpc_listen_address: "127.0.0.1",
      grpc_listen_port: grpc,
      log_level: "warn",
    },
    blocks_storage: {
      backend: "filesystem",
      filesystem: { dir: path.join(dir, "blocks") },
      bucket_store: { sync_dir: path.join(dir, "tsdb-sync") },
      tsdb: { dir: path.join(dir, "tsdb") },
    },
    compactor: { data_dir: path.join(dir, "compactor"), sharding_ring: ring },
    distributor: { ring },
    // The address queriers call back with results; auto-detected, it would be a non-loopback interface.
    frontend: { address: "127.0.0.1" },
    ingester: { ring: { ...ring, replication_factor: 1, min_ready_duration: "0s", final_sleep: "0s" } },
    store_gateway: { sharding_ring: { ...ring, replication_factor: 1 } },
    query_scheduler: { ring },
    ruler: { ring },
    ruler_storage: { backend: "filesystem", filesystem: { dir: path.join(dir, "rules") } },
  });
}

describeWith(
  receiverSkipReason("mimir", "prometheus"),
  "Grafana Mimir as the store, a tenant per cluster",
  () => {
    let mimirUrl = "";
    const proof = useReceiverProof({
      label: "mimir",
      lifetimeSeconds: 300,
      receiverYaml: RECEIVER_SPEC,
      upstreamAgents: true,
      startTimeoutMs: 180_000,
      startStore: async (run) => {
        const dir = path.join(run.runDir, "mimir-data");
        const [http, grpc] = [await freePort(), await freePort()];
        const configFile = path.join(run.runDir, "mimir.yaml");
        await writeFile(configFile, mimirConfig(dir, http, grpc));
        await run.startStore("mimir", "mimir", [`-config.file=${configFile}`], http, "/ready");
        mimirUrl = `http://127.0.0.1:${http}`;
        return () => `${mimirUrl}/api/v1/push`;
      },
    });

    it("renders Mimir's push URL and each cluster's X-Scope-OrgID into its remote_write", () => {
      expectRemoteWriteOfEveryAgent(proof.values, "https://mimir.example.com/api/v1/push", "X-Scope-OrgID");
    });

    it("sum(kube_pod_info) by (cluster, namespace) in each tenant equals that cluster's truth only", async () => {
      for (const a of AGENTS) {
        const expected = expectedPods(proof.truth, [a]);
        const tenantApi = new PromApi(`${mimirUrl}/prometheus`, { "X-Scope-OrgID": a });
        const actual = await podsOnceSettled(tenantApi, expected, `tenant ${a} in Mimir`, 90_000);
        expect(actual, `tenant ${a}`).toEqual(expected);
      }
    }, 200_000);

    it("refuses a query without X-Scope-OrgID (tenancy is on)", async () => {
      const res = await fetch(`${mimirUrl}/prometheus/api/v1/query?query=kube_pod_info`, {
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      expect(res.status).toBe(401);
    });

    it("promfleet verify exits 0 asking each cluster's tenant at /prometheus/api/v1/query", async () => {
      await expectVerifyReceiving(proof.fleetDir, mimirUrl);
    }, 90_000);
  },
);
