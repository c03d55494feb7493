import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";

export interface ClusterDiff {
  cluster: string;
  status: "added" | "removed" | "changed";
  /** Human-readable changes, most telling first. */
  changes: string[];
}

type Json = Record<string, unknown>;
type Job = Json & { job_name: string };

/** Per-cluster differences between two rendered trees (path -> content). */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): ClusterDiff[] {
  const clusters = [
    ...new Set([...before.keys(), ...after.keys()].map((p) => p.split("/")[1] as string)),
  ].sort();
  const diffs: ClusterDiff[] = [];
  for (const cluster of clusters) {
    const files = (m: Map<string, string>) =>
      new Map(
        [...m]
          .filter(([p]) => p.split("/")[1] === cluster)
          .map(([p, c]) => [p.split("/").slice(2).join("/"), c]),
      );
    const [b, a] = [files(before), files(after)];
    if (b.size === 0)
      diffs.push({ cluster, status: "added", changes: [...a.keys()].sort().map((f) => `new file ${f}`) });
    else if (a.size === 0)
      diffs.push({ cluster, status: "removed", changes: [...b.keys()].sort().map((f) => `deleted ${f}`) });
    else {
      const changes = diffCluster(b, a);
      if (changes.length > 0) diffs.push({ cluster, status: "changed", changes });
    }
  }
  return diffs;
}

function diffCluster(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  const valuesFirst = (f: string) => (f === "values.yaml" ? "" : f);
  for (const file of [...new Set([...before.keys(), ...after.keys()])].sort((x, y) =>
    valuesFirst(x) < valuesFirst(y) ? -1 : 1,
  )) {
    const [b, a] = [before.get(file), after.get(file)];
    if (b === a) continue;
    if (b === undefined) changes.push(`new file ${file}`);
    else if (a === undefined) changes.push(`deleted ${file}`);
    else if (file === "values.yaml") changes.push(...diffValues(parse(b) as Json, parse(a) as Json));
    else if (file === "manifests/values-secret.yaml") changes.push(`${file}: carries the new values.yaml`);
    else changes.push(...diffResources(file, b, a));
  }
  return changes;
}

function diffValues(before: Json, after: Json): string[] {
  const changes: string[] = [];
  const args = (v: Json) =>
    (get(v, ["prometheus", "deployment", "containers", "args"]) as string[] | undefined) ?? [];
  changes.push(...listChange("container arg", args(before), args(after)));
  const config = (v: Json) =>
    parse(String(get(v, ["prometheus", "config", "prometheus_yml"]) ?? "{}")) as Json;
  changes.push(...diffConfig(config(before), config(after)));
  const rest = (v: Json) =>
    flatten(v, "").filter(
      ([p]) =>
        !p.startsWith("prometheus.config.prometheus_yml") &&
        !p.startsWith("prometheus.deployment.containers.args"),
    );
  const [b, a] = [new Map(rest(before)), new Map(rest(after))];
  for (const p of [...new Set([...b.keys(), ...a.keys()])].sort())
    if (!isDeepStrictEqual(b.get(p), a.get(p)))
      changes.push(`value ${p}: ${show(b.get(p))} → ${show(a.get(p))}`);
  return changes;
}

function diffConfig(before: Json, after: Json): string[] {
  const changes: string[] = [];
  const jobs = (c: Json) =>
    new Map(((c.scrape_configs as Job[] | undefined) ?? []).map((j) => [j.job_name, j]));
  const [b, a] = [jobs(before), jobs(after)];
  for (const name of [...new Set([...b.keys(), ...a.keys()])]) {
    if (!b.has(name)) changes.push(`scrape job ${name} added`);
    else if (!a.has(name)) changes.push(`scrape job ${name} removed`);
    else if (!isDeepStrictEqual(b.get(name), a.get(name)))
      changes.push(
        `scrape job ${name} changed: ${changedKeys(b.get(name) as Json, a.get(name) as Json).join(", ")}`,
      );
  }
  const urls = (c: Json) => ((c.remote_write as Json[] | undefined) ?? []).map((r) => String(r.url));
  changes.push(...listChange("remote_write to", urls(before), urls(after)));
  const rwOther = (c: Json) =>
    ((c.remote_write as Json[] | undefined) ?? []).map((r) => ({ ...r, url: undefined }));
  if (isDeepStrictEqual(urls(before), urls(after)) && !isDeepStrictEqual(rwOther(before), rwOther(after)))
    changes.push("remote_write settings changed (auth, TLS or queue)");
  const labels = (c: Json) => (get(c, ["global", "external_labels"]) as Json | undefined) ?? {};
  if (!isDeepStrictEqual(labels(before), labels(after)))
    changes.push(`external labels: ${show(labels(before))} → ${show(labels(after))}`);
  for (const key of ["global", "rule_files", "alerting"]) {
    const strip = (c: Json) =>
      key === "global" ? { ...(c.global as Json), external_labels: undefined } : c[key];
    if (!isDeepStrictEqual(strip(before), strip(after))) changes.push(`${key} changed`);
  }
  return changes;
}

function diffResources(file: string, before: string, after: string): string[] {
  const index = (text: string) =>
    new Map(
      parseAllDocuments(text)
        .map((d) => d.toJS() as Json | null)
        .filter((r): r is Json => !!r?.kind)
        .map((r) => [`${String(r.kind)} ${String((r.metadata as Json | undefined)?.name)}`, r]),
    );
  const [b, a] = [index(before), index(after)];
  const changes: string[] = [];
  for (const key of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    if (!b.has(key)) changes.push(`${file}: ${key} added`);
    else if (!a.has(key)) changes.push(`${file}: ${key} removed`);
    else if (!isDeepStrictEqual(b.get(key), a.get(key))) {
      const paths = flatten(a.get(key) as Json, "").filter(
        ([p, v]) => !isDeepStrictEqual(v, new Map(flatten(b.get(key) as Json, "")).get(p)),
      );
      changes.push(...paths.slice(0, 5).map(([p, v]) => `${file}: ${key} ${p} → ${show(v)}`));
    }
  }
  return changes;
}

function listChange(what: string, before: string[], after: string[]): string[] {
  return [
    ...after.filter((x) => !before.includes(x)).map((x) => `${what} ${x} added`),
    ...before.filter((x) => !after.includes(x)).map((x) => `${what} ${x} removed`),
  ];
}

function changedKeys(before: Json, after: Json): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => !isDeepStrictEqual(before[k], after[k]),
  );
}

function get(v: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>((node, k) => (node as Json | undefined)?.[k], v);
}

function flatten(v: unknown, prefix: string): Array<[string, unknown]> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [[prefix, v]];
  return Object.entries(v).flatMap(([k, child]) => flatten(child, prefix ? `${prefix}.${k}` : k));
}

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
}
