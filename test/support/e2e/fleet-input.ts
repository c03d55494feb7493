/**
 * The fleet the end-to-end test runs.
 *
 * `loadFleetValues()` is the single place that decides where the package values come from: promfleet
 * renders them from this repository's example fleet (aggregator `orbstack`, agent `kind`) plus the
 * agents edge-1 and edge-2, so nothing outside the clone is needed.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import type { ClusterInput } from "./fleet-harness.js";
import type { PodRef } from "./ksm-exporter.js";
import { loadFleet } from "../../../src/fleet/load.js";
import { readRenderInputs, renderFleet } from "../../../src/render/render.js";
import { exampleFleetRepo } from "../../helpers/fleet-repo.js";
import { isAgentArgs, parseValues } from "./local-config.js";

export type { ClusterInput } from "./fleet-harness.js";

export const AGGREGATOR = "orbstack";
export const AGENTS = ["kind", "edge-1", "edge-2"] as const;

/** Deterministic, different pod sets per cluster; some namespace/pod names repeat across clusters on purpose. */
const PODS: Record<string, Record<string, number>> = {
  orbstack: { "kube-system": 3, "tanzu-system-monitoring": 4, default: 1 },
  kind: { "kube-system": 2, apps: 5 },
  "edge-1": { "kube-system": 2, apps: 3, ingress: 1 },
  "edge-2": { "kube-system": 1, shop: 7 },
};

export function examplePods(cluster: string): PodRef[] {
  const spec = PODS[cluster] ?? { "kube-system": 1, default: 2 };
  const pods: PodRef[] = [];
  for (const [namespace, n] of Object.entries(spec))
    for (let i = 0; i < n; i++)
      pods.push({
        namespace,
        pod: namespace === "kube-system" && i === 0 ? "coredns-0" : `${namespace}-${i}`,
      });
  return pods;
}

/** Role from the rendered args: `--enable-feature=agent` means agent, else aggregator. */
export function clusterInput(
  name: string,
  valuesYaml: string,
  pods: PodRef[] = examplePods(name),
): ClusterInput {
  const { args } = parseValues(valuesYaml, name);
  return { name, role: isAgentArgs(args) ? "agent" : "aggregator", valuesYaml, pods };
}

/**
 * Returns the values with `global.external_labels.cluster` in prometheus_yml set to `cluster`.
 * Both the values file and the embedded Prometheus config are parsed, not string-replaced.
 */
export function withExternalClusterLabel(valuesYaml: string, cluster: string): string {
  const doc = YAML.parseDocument(valuesYaml);
  const ymlPath = ["prometheus", "config", "prometheus_yml"];
  const yml = doc.getIn(ymlPath);
  if (typeof yml !== "string") throw new Error("values have no prometheus.config.prometheus_yml string");
  const config = YAML.parseDocument(yml);
  if (!config.hasIn(["global", "external_labels", "cluster"]))
    throw new Error("prometheus_yml has no global.external_labels.cluster to replace");
  config.setIn(["global", "external_labels", "cluster"], cluster);
  doc.setIn(ymlPath, config.toString());
  return doc.toString();
}

/**
 * The e2e input is promfleet's own output: the example fleet (the article's orbstack + kind) with the
 * agents edge-1 and edge-2 added, rendered by promfleet exactly as `promfleet render` writes it.
 */
export async function loadFleetValues(): Promise<ClusterInput[]> {
  const dir = await exampleFleetRepo();
  const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
  const extra = AGENTS.filter((a) => a !== "kind").map(
    (a) => `  - name: ${a}\n    role: agent\n    retention: 5m\n    walPath: in-container\n`,
  );
  await writeFile(path.join(dir, "fleet.yaml"), spec + extra.join(""));
  const fleet = await loadFleet(dir);
  const rendered = await renderFleet(fleet, await readRenderInputs(fleet));
  const valuesOf = (name: string) => {
    const text = rendered.files.get(`clusters/${name}/values.yaml`);
    if (text === undefined) throw new Error(`promfleet rendered no values for ${name}`);
    return text;
  };
  return [
    clusterInput(AGGREGATOR, valuesOf(AGGREGATOR)),
    ...AGENTS.map((name) => clusterInput(name, valuesOf(name))),
  ];
}
