/** Package values compared in Prometheus' terms: args, scrape jobs, remote_write, external labels. */
import { isDeepStrictEqual } from "node:util";
import { parseYaml } from "../validate/fast-yaml.js";
import { arrow, changedKeys, changedPaths, get, isObject, listChange, type Json } from "./json.js";
import { UNCHANGED, withoutSharedBlocks, type PruneShape } from "./unchanged-blocks.js";

const ARGS = ["prometheus", "deployment", "containers", "args"];
const PVC_SIZE = ["prometheus", "pvc", "storage"];
const CONFIG = ["prometheus", "config", "prometheus_yml"];
/** Aggregator TSDB retention and agent WAL retention: both are "retention" to a reviewer. */
const RETENTION_FLAGS = ["--storage.tsdb.retention.time", "--storage.agent.retention.max-time"];

/**
 * Where a shared block of values.yaml may be cut before comparing (unchanged-blocks.ts): not inside the
 * values shown whole when they differ (PVC size, external labels), and inside the embedded prometheus.yml.
 */
const SHAPE: PruneShape = {
  whole: new Set([PVC_SIZE.join(".")]),
  embedded: { path: CONFIG.join("."), shape: { whole: new Set(["global.external_labels"]) } },
};

/**
 * diffValuesInFull's answer, found by parsing only the blocks of the two texts that differ (what both
 * share is cut first); the full texts are compared when the cut is not possible or does not parse.
 */
export function diffValuesText(before: string, after: string): string[] {
  const cut = cutSharedValues(before, after);
  if (cut) {
    const key = `${cut[0].length}:${cut[0]}${cut[1]}`;
    const known = cutDiffs.get(key);
    if (known) return [...known];
    try {
      const diff = diffValues(parseMapping(cut[0]), parseMapping(cut[1]));
      if (cutDiffs.size >= MAX_CUT_DIFFS) cutDiffs.clear();
      cutDiffs.set(key, [...diff]);
      return diff;
    } catch {
      // the full texts say what is wrong, in their own line numbers
    }
  }
  return diffValuesInFull(before, after);
}

/**
 * The diffs of cut texts compared before, by both texts: after a fleet-wide change most clusters' cut
 * texts are the same (what names a cluster is shared, so cut), and a comparison depends on them alone.
 */
const cutDiffs = new Map<string, readonly string[]>();
const MAX_CUT_DIFFS = 1000;

/** Two values.yaml texts with the blocks they share cut, when that is possible. */
export function cutSharedValues(before: string, after: string): [string, string] | undefined {
  return withoutSharedBlocks(before, after, SHAPE);
}

/** What changed between two values.yaml texts, each parsed in full; a line saying so when one is not YAML. */
export function diffValuesInFull(before: string, after: string): string[] {
  try {
    return diffValues(parseMapping(before), parseMapping(after));
  } catch (e) {
    return [`values.yaml changed, and is not valid YAML: ${(e as Error).message.split("\n")[0]}`];
  }
}

function parseMapping(text: string): Json {
  const parsed: unknown = parseYaml(text);
  return isObject(parsed) ? parsed : {};
}

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
  // UNCHANGED reads as a string, not a mapping, whether cut or written so
  const parsed: unknown = typeof text === "string" && text !== UNCHANGED ? parseYaml(text) : undefined;
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
