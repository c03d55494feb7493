/** Package values compared in Prometheus' terms: args, scrape jobs, remote_write, external labels. */
import { isDeepStrictEqual } from "node:util";
import { parseYaml } from "../validate/fast-yaml.js";
import { arrow, changedKeys, changedPaths, get, isObject, listChange, type Json } from "./json.js";

const ARGS = ["prometheus", "deployment", "containers", "args"];
const PVC_SIZE = ["prometheus", "pvc", "storage"];
const CONFIG = ["prometheus", "config", "prometheus_yml"];
/** Aggregator TSDB retention and agent WAL retention: both are "retention" to a reviewer. */
const RETENTION_FLAGS = ["--storage.tsdb.retention.time", "--storage.agent.retention.max-time"];

/** What changed between two package values files, in a reviewer's terms, most telling first. */
export function diffValues(before: Json, after: Json): string[] {
  return [
    ...diffArgs(args(before), args(after)),
    ...(isDeepStrictEqual(get(before, PVC_SIZE), get(after, PVC_SIZE))
      ? []
      : [`PVC size ${arrow(get(before, PVC_SIZE), get(after, PVC_SIZE))}`]),
    ...diffConfig(config(before), config(after)),
    ...changedPaths(before, after)
      .filter(([p]) => ![CONFIG, ARGS, PVC_SIZE].some((keys) => p.startsWith(keys.join("."))))
      .map(([p, b, a]) => `value ${p}: ${arrow(b, a)}`),
  ];
}

function args(values: Json): string[] {
  const list = get(values, ARGS);
  return Array.isArray(list) ? list.map(String) : [];
}

function config(values: Json): Json {
  const text = get(values, CONFIG);
  const parsed: unknown = typeof text === "string" ? parseYaml(text) : undefined;
  return isObject(parsed) ? parsed : {};
}

/** A flag whose value changed is one line (retention named as such); the rest are added/removed. */
function diffArgs(before: string[], after: string[]): string[] {
  const [b, a] = [singleFlags(before), singleFlags(after)];
  const changed = [...b].filter(([flag, value]) => a.has(flag) && a.get(flag) !== value);
  const handled = new Set(changed.flatMap(([flag, value]) => [`${flag}=${value}`, `${flag}=${a.get(flag)}`]));
  return [
    ...changed.map(([flag, value]) =>
      RETENTION_FLAGS.includes(flag)
        ? `retention ${value} → ${a.get(flag)} (${flag})`
        : `container arg ${flag}: ${value} → ${a.get(flag)}`,
    ),
    ...listChange(
      "container arg",
      before.filter((x) => !handled.has(x)),
      after.filter((x) => !handled.has(x)),
    ),
  ];
}

/** `--flag=value` args whose flag appears once (repeatable flags like --enable-feature stay a set). */
function singleFlags(args: string[]): Map<string, string> {
  const flags = args.filter((x) => x.includes("=")).map((x) => x.split("=", 1)[0] as string);
  return new Map(
    args
      .filter((x) => x.includes("="))
      .map((x) => [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)] as [string, string])
      .filter(([flag]) => flags.filter((f) => f === flag).length === 1),
  );
}

function diffConfig(before: Json, after: Json): string[] {
  return [
    ...diffByKey("scrape job", "job_name", before.scrape_configs, after.scrape_configs),
    ...diffByKey("remote_write to", "url", before.remote_write, after.remote_write),
    ...externalLabels(before, after),
    ...changedPaths(withoutDescribed(before), withoutDescribed(after)).map(
      ([p, b, a]) => `prometheus.yml ${p}: ${arrow(b, a)}`,
    ),
  ];
}

/** Entries of two lists matched by a key (job_name, url): added, removed, or which fields changed. */
function diffByKey(what: string, key: string, before: unknown, after: unknown): string[] {
  const index = (list: unknown) =>
    new Map((Array.isArray(list) ? list.filter(isObject) : []).map((e) => [String(e[key]), e]));
  const [b, a] = [index(before), index(after)];
  const changed = [...b.keys()].filter((k) => a.has(k) && !isDeepStrictEqual(b.get(k), a.get(k)));
  return [
    ...listChange(what, [...b.keys()], [...a.keys()]),
    ...changed.map(
      (k) => `${what} ${k} changed: ${changedKeys(b.get(k) as Json, a.get(k) as Json).join(", ")}`,
    ),
  ];
}

function externalLabels(before: Json, after: Json): string[] {
  const labels = (c: Json) => get(c, ["global", "external_labels"]) ?? {};
  return isDeepStrictEqual(labels(before), labels(after))
    ? []
    : [`external labels: ${arrow(labels(before), labels(after))}`];
}

/** prometheus.yml without the parts described on their own; the rest is listed by dotted path. */
function withoutDescribed(config: Json): Json {
  const rest: Json = { ...config, scrape_configs: undefined, remote_write: undefined };
  if (isObject(config.global)) rest.global = { ...config.global, external_labels: undefined };
  return JSON.parse(JSON.stringify(rest)) as Json;
}
