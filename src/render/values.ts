import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import type { Problem } from "../util/errors.js";
import { MemoYaml } from "./memo-yaml.js";

type Json = Record<string, unknown>;
type ScrapeJob = Json & {
  job_name?: string;
  relabel_configs?: Json[];
  static_configs?: Json[];
  honor_labels?: boolean;
};

/** Fields Prometheus 2.43 accepts in a remote_write entry; anything else makes it refuse its config. */
const REMOTE_WRITE_FIELDS = new Set([
  "url",
  "remote_timeout",
  "headers",
  "write_relabel_configs",
  "name",
  "send_exemplars",
  "send_native_histograms",
  "basic_auth",
  "authorization",
  "sigv4",
  "oauth2",
  "azuread",
  "tls_config",
  "proxy_url",
  "no_proxy",
  "proxy_from_environment",
  "proxy_connect_header",
  "follow_redirects",
  "enable_http2",
  "queue_config",
  "metadata_config",
]);
const QUEUE_CONFIG_FIELDS = new Set([
  "capacity",
  "max_shards",
  "min_shards",
  "max_samples_per_send",
  "batch_send_deadline",
  "min_backoff",
  "max_backoff",
  "retry_on_http_429",
]);
/** Agent mode exits at start when its config has any of these. */
const AGENT_FORBIDDEN_SECTIONS = ["rule_files", "alerting", "remote_read"];

export interface ClusterWarning {
  cluster: string;
  message: string;
}

export interface FinishedValues {
  values: Json;
  warnings: ClusterWarning[];
}

/**
 * The last steps after ytt: apply the cluster's `values` (--set), make agent-mode start-up failures and
 * silently lost `cluster` labels impossible, then encode prometheus_yml as the string the package takes.
 */
export function finishValues(
  spec: FleetSpec,
  cluster: ClusterSpec,
  values: Json,
  memo: MemoYaml = new MemoYaml(),
): FinishedValues {
  for (const [dotted, value] of Object.entries(cluster.values)) setPath(values, dotted.split("."), value);
  const config = prometheusConfig(values);
  const where = { file: `clusters/${cluster.name}/values.yaml`, cluster: cluster.name };
  const problems: Problem[] = [...remoteWriteProblems(config, where.file)];
  const warnings: ClusterWarning[] = [];
  if (cluster.role === "agent") {
    problems.push(...agentProblems(values, config, where.file));
    warnings.push(...guardClusterLabel(spec, cluster, config));
  }
  if (problems.length > 0) throw new RenderProblems(cluster.name, problems);
  (values.prometheus as Json & { config: Json }).config.prometheus_yml = memo.mapWithList(
    config,
    "scrape_configs",
  );
  return { values, warnings };
}

export class RenderProblems extends Error {
  constructor(
    readonly cluster: string,
    readonly problems: Problem[],
  ) {
    super(`cluster ${cluster}: ${problems.length} problem(s) in the rendered values`);
  }
}

function setPath(target: Json, keys: string[], value: unknown): void {
  const [head, ...rest] = keys as [string, ...string[]];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = target[head];
  if (typeof next !== "object" || next === null || Array.isArray(next)) target[head] = {};
  setPath(target[head] as Json, rest, value);
}

function prometheusConfig(values: Json): Json {
  const config = (values.prometheus as Json | undefined)?.config as Json | undefined;
  const yml = config?.prometheus_yml;
  if (typeof yml !== "object" || yml === null)
    throw new Error("overlays left no prometheus.config.prometheus_yml map");
  return yml as Json;
}

function agentProblems(values: Json, config: Json, file: string): Problem[] {
  const problems: Problem[] = [];
  const args = ((values.prometheus as Json)?.deployment as Json | undefined)?.containers as Json | undefined;
  const argList = (args?.args as string[] | undefined) ?? [];
  for (const arg of argList.filter((a) => a.startsWith("--storage.tsdb.")))
    problems.push({
      file,
      path: "prometheus.deployment.containers.args",
      message: `agent mode exits at start on ${arg}`,
      fix: "remove it; agents keep a WAL (--storage.agent.*), not a TSDB",
    });
  if (!argList.includes("--enable-feature=agent"))
    problems.push({
      file,
      path: "prometheus.deployment.containers.args",
      message: "an agent's args lack --enable-feature=agent",
      fix: "keep the role overlay's arg list; change args with an overlay that appends",
    });
  for (const section of AGENT_FORBIDDEN_SECTIONS.filter((s) => s in config))
    problems.push({
      file,
      path: `prometheus.config.prometheus_yml.${section}`,
      message: `agent mode exits at start when its config has ${section}`,
      fix: `remove ${section} from the overlay that adds it`,
    });
  return problems;
}

function remoteWriteProblems(config: Json, file: string): Problem[] {
  const entries = (config.remote_write as Json[] | undefined) ?? [];
  return entries.flatMap((entry, i) => {
    const base = `prometheus.config.prometheus_yml.remote_write[${i}]`;
    const unknown = Object.keys(entry)
      .filter((k) => !REMOTE_WRITE_FIELDS.has(k))
      .map((k) => `${base}.${k}`);
    const queue = (entry.queue_config as Json | undefined) ?? {};
    unknown.push(
      ...Object.keys(queue)
        .filter((k) => !QUEUE_CONFIG_FIELDS.has(k))
        .map((k) => `${base}.queue_config.${k}`),
    );
    return unknown.map((p) => ({
      file,
      path: p,
      message: "Prometheus 2.43 rejects this field and would not start",
      fix: "remove it",
    }));
  });
}

/**
 * external_labels never override a label a series already has, so a job that can give its targets a
 * `cluster` label (labelmap of pod or node labels, target_label: cluster) would defeat the agent's own.
 */
function guardClusterLabel(spec: FleetSpec, cluster: ClusterSpec, config: Json): ClusterWarning[] {
  const jobs = ((config.scrape_configs as ScrapeJob[] | undefined) ?? []).filter(canProduceClusterLabel);
  if (jobs.length === 0) return [];
  if (!spec.guardClusterLabel)
    return jobs.map((j) => ({
      cluster: cluster.name,
      message: `job ${j.job_name} can set a "cluster" label that overrides external_labels.cluster (guardClusterLabel is off)`,
    }));
  for (const job of jobs)
    job.relabel_configs = [...(job.relabel_configs ?? []), { action: "labeldrop", regex: "cluster" }];
  return [];
}

/** Discovered meta labels whose value a labelmap could copy into a label named `cluster`. */
const META_LABELS_NAMED_CLUSTER = [
  "pod",
  "node",
  "service",
  "endpoints",
  "endpointslice",
  "namespace",
  "ingress",
].flatMap((role) => [
  `__meta_kubernetes_${role}_label_cluster`,
  `__meta_kubernetes_${role}_annotation_cluster`,
]);

function canProduceClusterLabel(job: ScrapeJob): boolean {
  return (job.relabel_configs ?? []).some((r) => r.target_label === "cluster" || labelmapYieldsCluster(r));
}

function labelmapYieldsCluster(r: Json): boolean {
  if (r.action !== "labelmap") return false;
  const regex = new RegExp(`^(?:${typeof r.regex === "string" ? r.regex : "(.*)"})$`);
  const replacement = (typeof r.replacement === "string" ? r.replacement : "$1").replace(
    /\$\{?(\d+)\}?/g,
    "$$$1",
  );
  return META_LABELS_NAMED_CLUSTER.some(
    (name) => regex.test(name) && name.replace(regex, replacement) === "cluster",
  );
}
