/** Finishes a cluster's package values after ytt: --set values, guards, the prometheus_yml string. */
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import type { Problem } from "../util/errors.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { MemoYaml } from "./memo-yaml.js";
import { valuesShapeMismatches, type ShapeMismatch } from "./values-shape.js";
import { receiverProblems } from "../receiver/render.js";

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
  /** The finished values; absent when there are problems. */
  values?: Json;
  warnings: ClusterWarning[];
  problems: Problem[];
}

/**
 * The last steps after ytt: apply the cluster's `values` (--set), check that the overlays left every key
 * promfleet reads, make agent-mode start-up failures and silently lost `cluster` labels impossible, then
 * encode prometheus_yml as the string the package takes. `overlays` are the files ytt applied, in order,
 * for messages.
 */
export function finishValues(
  spec: FleetSpec,
  cluster: ClusterSpec,
  rendered: unknown,
  overlays: string[],
  memo: MemoYaml = new MemoYaml(),
): FinishedValues {
  const file = `${CLUSTERS_DIR}/${cluster.name}/values.yaml`;
  if (isMap(rendered))
    for (const [dotted, value] of Object.entries(cluster.values)) setPath(rendered, dotted.split("."), value);
  const shapeProblems = valuesShapeMismatches(rendered).map((m) =>
    shapeProblem(m, file, cluster, valueSources(spec, cluster, overlays)),
  );
  if (shapeProblems.length > 0) return { warnings: [], problems: shapeProblems };
  const values = rendered as Json;
  const config = prometheusConfig(values);
  const problems: Problem[] = [...remoteWriteProblems(config, file)];
  const warnings: ClusterWarning[] = [];
  if (cluster.role === "agent") {
    problems.push(...agentProblems(values, config, file));
    problems.push(
      ...receiverProblems(spec.remoteWrite.receiver, spec.remoteWrite.url, cluster.name, config, file),
    );
    warnings.push(...guardClusterLabel(spec, cluster, config));
  }
  if (problems.length > 0) return { warnings, problems };
  (values.prometheus as Json & { config: Json }).config.prometheus_yml = memo.mapWithList(
    config,
    "scrape_configs",
  );
  return { values, warnings, problems: [] };
}

/** Everything that shaped the cluster's values, in the order applied. */
function valueSources(spec: FleetSpec, cluster: ClusterSpec, overlays: string[]): string {
  const fromSpec =
    Object.keys(cluster.values).length > 0 ? [`${spec.file} clusters[${cluster.name}].values`] : [];
  return [...overlays, ...fromSpec].join(", ");
}

function shapeProblem(m: ShapeMismatch, file: string, cluster: ClusterSpec, sources: string): Problem {
  const fix =
    m.found === "missing"
      ? "one of these files removes it (@overlay/remove, or @overlay/replace of a parent): merge into it instead"
      : `one of these files replaces it with ${m.found} (@overlay/replace or a values: entry): keep it ${m.needed} and merge into it instead`;
  return {
    file,
    path: m.path || "(the values document)",
    message: `cluster ${cluster.name}: ${m.found} after applying ${sources} (promfleet reads it as ${m.needed})`,
    fix: m.hint ? `${fix}; ${m.hint}` : fix,
  };
}

function isMap(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Sets a dotted path with own properties only: a segment such as `__proto__`, `constructor` or
 * `prototype` is an ordinary key of these values and never reaches a shared prototype.
 */
function setPath(target: Json, keys: string[], value: unknown): void {
  const [head, ...rest] = keys as [string, ...string[]];
  if (rest.length === 0) return defineOwn(target, head, value);
  const next = Object.hasOwn(target, head) ? target[head] : undefined;
  const child = isMap(next) ? next : {};
  if (child !== next) defineOwn(target, head, child);
  setPath(child, rest, value);
}

function defineOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Only after the shape check: every key read here is known to have its type. */
function prometheusConfig(values: Json): Json {
  return ((values.prometheus as Json).config as Json).prometheus_yml as Json;
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
  for (const section of AGENT_FORBIDDEN_SECTIONS.filter((s) => Object.hasOwn(config, s)))
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

/** labelmapYieldsCluster's answers by regex and replacement: the same jobs recur on every cluster. */
const labelmapAnswers = new Map<string, boolean>();

function labelmapYieldsCluster(r: Json): boolean {
  if (r.action !== "labelmap") return false;
  const source = typeof r.regex === "string" ? r.regex : "(.*)";
  const template = typeof r.replacement === "string" ? r.replacement : "$1";
  const key = JSON.stringify([source, template]);
  let answer = labelmapAnswers.get(key);
  if (answer === undefined) labelmapAnswers.set(key, (answer = labelmapCopiesCluster(source, template)));
  return answer;
}

function labelmapCopiesCluster(source: string, template: string): boolean {
  const regex = anchoredRegex(source);
  // RE2 syntax JavaScript cannot read (e.g. `(?P<name>...)`): assume the worst, guard or warn.
  if (regex === undefined) return true;
  const replacement = template.replace(/\$\{?(\d+)\}?/g, "$$$1");
  return META_LABELS_NAMED_CLUSTER.some(
    (name) => regex.test(name) && name.replace(regex, replacement) === "cluster",
  );
}

/** Prometheus anchors relabel regexes at both ends. */
function anchoredRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return undefined;
  }
}
