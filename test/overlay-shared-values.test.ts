import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadFleet } from "../src/fleet/load.js";
import { readRenderInputs, renderFleet } from "../src/render/render.js";
import { exampleFleetRepo, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

/**
 * overlays/base/values.yaml builds the parts every cluster shares once, when ytt loads it, and
 * overlay.apply changes the values it is given in place: these overlays change those shared parts on
 * every cluster (fleet-wide) and on one cluster only, and each cluster must get exactly its own changes.
 */
const FLEET_WIDE = `#@ load("@ytt:overlay", "overlay")
#@ def overlay_for(cluster):
prometheus:
  config:
    prometheus_yml:
      scrape_configs:
      #@overlay/match by=overlay.all, expects="1+"
      -
        #@overlay/match missing_ok=True
        relabel_configs:
        #@overlay/append
        - target_label: fleet
          replacement: example
#@ end
`;

const ONE_CLUSTER = `#@ load("@ytt:overlay", "overlay")
#@ def overlay_for(cluster):
prometheus:
  config:
    prometheus_yml:
      global:
        scrape_timeout: 20s
      scrape_configs:
      #@overlay/match by=overlay.subset({"job_name": "prometheus"})
      - scrape_interval: 10s
      #@overlay/match by=overlay.subset({"job_name": "kubernetes-pods"})
      - relabel_configs:
        #@overlay/append
        - target_label: team
          replacement: blue
      #@overlay/match by=overlay.subset({"job_name": "kubernetes-nodes-cadvisor"})
      - tls_config:
          #@overlay/match missing_ok=True
          server_name: kubernetes.blue.example
#@ end
`;

const AGENTS = ["blue", "green", "red"];

interface Job {
  job_name: string;
  scrape_interval?: string;
  relabel_configs?: Array<Record<string, unknown>>;
  tls_config?: Record<string, unknown>;
}

interface PrometheusYml {
  global: Record<string, string>;
  scrape_configs: Job[];
}

describe("values every cluster shares, changed by overlays", () => {
  let configs: Map<string, PrometheusYml>;
  beforeAll(async () => {
    const dir = await exampleFleetRepo();
    await writeRepoFile(dir, "overlays/fleet/label.yaml", FLEET_WIDE);
    await writeRepoFile(dir, "overlays/clusters/blue/team.yaml", ONE_CLUSTER);
    const text = await readRepoFile(dir, "fleet.yaml");
    const agents = AGENTS.map(
      (name) =>
        `  - name: ${name}\n    role: agent\n    retention: 5m\n` +
        (name === "blue" ? "    overlays: [overlays/clusters/blue/team.yaml]\n" : ""),
    ).join("");
    await writeRepoFile(dir, "fleet.yaml", `${text}${agents}overlays: [overlays/fleet/label.yaml]\n`);
    const spec = await loadFleet(dir);
    const rendered = await renderFleet(spec, await readRenderInputs(spec));
    configs = new Map(
      [...rendered.values].map(([name, values]) => {
        const config = values.prometheus as { config: { prometheus_yml: string } };
        return [name, parse(config.config.prometheus_yml) as PrometheusYml];
      }),
    );
  }, 120_000);

  const job = (cluster: string, name: string): Job => {
    const found = configs.get(cluster)?.scrape_configs.find((j) => j.job_name === name);
    if (!found) throw new Error(`${cluster} has no job ${name}`);
    return found;
  };
  const targetLabels = (cluster: string, name: string) =>
    (job(cluster, name).relabel_configs ?? []).map((r) => r.target_label ?? r.action);

  const BASE_POD_RELABELS = [
    "keep",
    "__metrics_path__",
    "__address__",
    "labelmap",
    "kubernetes_namespace",
    "kubernetes_pod_name",
  ];

  it("a fleet-wide append lands once on every cluster, not once per cluster rendered before it", () => {
    for (const cluster of ["green", "red"]) {
      expect(targetLabels(cluster, "kubernetes-pods")).toEqual([...BASE_POD_RELABELS, "fleet"]);
      expect(targetLabels(cluster, "prometheus")).toEqual(["fleet"]);
    }
    // the aggregator's role overlay appends its own cluster label first
    expect(targetLabels("orbstack", "kubernetes-pods")).toEqual([...BASE_POD_RELABELS, "cluster", "fleet"]);
  });

  it("one cluster's overlay changes that cluster's shared jobs and global settings only", () => {
    expect(targetLabels("blue", "kubernetes-pods")).toEqual([...BASE_POD_RELABELS, "fleet", "team"]);
    expect(job("blue", "prometheus").scrape_interval).toBe("10s");
    expect(configs.get("blue")?.global.scrape_timeout).toBe("20s");
    expect(job("blue", "kubernetes-nodes-cadvisor").tls_config?.server_name).toBe("kubernetes.blue.example");
    for (const cluster of ["orbstack", "kind", "green", "red"]) {
      expect(job(cluster, "prometheus").scrape_interval).toBe("5s");
      expect(configs.get(cluster)?.global.scrape_timeout).toBe("10s");
      expect(job(cluster, "kubernetes-nodes-cadvisor").tls_config).toEqual({
        ca_file: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        insecure_skip_verify: true,
      });
    }
  });
});
