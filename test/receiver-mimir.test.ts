/**
 * Grafana Mimir (single process, `-target=all`, filesystem storage, built by
 * scripts/install-receiver-tools.sh) as the fleet's store with one tenant per cluster: the same three
 * promfleet-rendered agents as the Thanos proof (upstream Prometheus 2.43.1, which sends the rendered
 * X-Scope-OrgID header; Debian's 2.42 does not) write to /api/v1/push; the article's query through
 * /prometheus/api/v1/query with X-Scope-OrgID answers each tenant's cluster and nothing else, and
 * `promfleet verify` exits 0. Loopback only; Mimir's anonymous usage reporting is switched off.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import YAML from "yaml";
import { promConfigOf } from "./helpers/values.js";
import { promfleet } from "./helpers/fleet-repo.js";
import { describeWith } from "./support/prerequisites.js";
import { Fleet } from "./support/e2e/fleet-harness.js";
import { PromApi } from "./support/e2e/prom-api.js";
import { freePort } from "./support/e2e/prometheus-process.js";
import {
  AGENTS,
  receiverBinary,
  receiverSkipReason,
  renderReceiverFleet,
  StoreRun,
} from "./support/receiver/stores.js";

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
    let run: StoreRun | undefined;
    let fleetDir = "";
    let mimirUrl = "";
    let values = new Map<string, string>();
    const truth = new Map<string, Record<string, number>>();
    const r = () => {
      if (!run) throw new Error("the store did not start");
      return run;
    };

    beforeAll(async () => {
      run = await StoreRun.create("mimir", 300);
      const rendered = await renderReceiverFleet(RECEIVER_SPEC);
      fleetDir = rendered.dir;
      values = rendered.values;
      const dir = path.join(r().runDir, "mimir-data");
      const [http, grpc] = [await freePort(), await freePort()];
      const configFile = path.join(r().runDir, "mimir.yaml");
      await writeFile(configFile, mimirConfig(dir, http, grpc));
      await r().startStore("mimir", "mimir", [`-config.file=${configFile}`], http, "/ready");
      mimirUrl = `http://127.0.0.1:${http}`;
      await Promise.all(
        AGENTS.map(async (a) => {
          const { exporter } = await r().startAgent(
            a,
            values.get(a) as string,
            `${mimirUrl}/api/v1/push`,
            "2s",
            receiverBinary("prometheus"),
          );
          truth.set(a, Object.fromEntries(exporter.truth()));
        }),
      );
    }, 180_000);

    afterAll(async () => {
      await run?.close();
      if (fleetDir) await rm(fleetDir, { recursive: true, force: true });
    }, 60_000);

    beforeEach(({ onTestFailed }) => onTestFailed(() => run?.markFailed()));

    it("renders Mimir's push URL and each cluster's X-Scope-OrgID into its remote_write", () => {
      for (const a of AGENTS) {
        const yml = promConfigOf(values.get(a) as string);
        expect(yml.remote_write).toHaveLength(1);
        expect(yml.remote_write?.[0]?.url).toBe("https://mimir.example.com/api/v1/push");
        expect(yml.remote_write?.[0]?.headers).toEqual({ "X-Scope-OrgID": a });
        expect(yml.global.external_labels).toMatchObject({ cluster: a });
      }
    });

    it("sum(kube_pod_info) by (cluster, namespace) in each tenant equals that cluster's truth only", async () => {
      for (const a of AGENTS) {
        const expected = Object.fromEntries(
          Object.entries(truth.get(a) ?? {}).map(([ns, n]) => [`${a}/${ns}`, n]),
        );
        const tenantApi = new PromApi(`${mimirUrl}/prometheus`, { "X-Scope-OrgID": a });
        let actual: Record<string, number> = {};
        await Fleet.until(`tenant ${a} in Mimir`, 90_000, async () => {
          const answer = await tenantApi.query("sum(kube_pod_info) by (cluster, namespace)");
          actual = Object.fromEntries(
            answer.map((s) => [`${s.metric.cluster}/${s.metric.namespace}`, Number(s.value[1])]),
          );
          return (
            JSON.stringify(Object.entries(actual).sort()) === JSON.stringify(Object.entries(expected).sort())
          );
        }).catch(() => undefined);
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
      const { code, stdout, stderr } = await promfleet(fleetDir, [
        "verify",
        "--aggregator-url",
        mimirUrl,
        "--wait",
        "60s",
        "--json",
      ]);
      expect(code, `${stderr}${stdout}`).toBe(0);
      const result = JSON.parse(stdout) as { clusters: { cluster: string; status: string }[] };
      expect(result.clusters.map((c) => `${c.cluster}:${c.status}`)).toEqual(
        AGENTS.map((a) => `${a}:receiving`),
      );
    }, 90_000);
  },
);
