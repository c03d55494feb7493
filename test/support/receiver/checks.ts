/**
 * What every receiver proof asserts, whatever the store: each agent's rendered remote_write, the
 * article's query answering the exporters' truth, and `promfleet verify` finding every cluster.
 */
import { expect } from "vitest";
import { promfleet } from "../../helpers/fleet-repo.js";
import { promConfigOf } from "../../helpers/values.js";
import { Fleet } from "../e2e/fleet-harness.js";
import type { PromApi } from "../e2e/prom-api.js";
import { AGENTS, type Truth } from "./stores.js";

/**
 * Every agent's rendered remote_write is one entry to `url`, carrying the header `tenantHeader` with the
 * agent's name (no headers at all without one), and its external labels name its cluster.
 */
export function expectRemoteWriteOfEveryAgent(
  values: ReadonlyMap<string, string>,
  url: string,
  tenantHeader?: string,
): void {
  for (const a of AGENTS) {
    const yml = promConfigOf(values.get(a) as string);
    expect(yml.remote_write).toHaveLength(1);
    expect(yml.remote_write?.[0]?.url).toBe(url);
    if (tenantHeader) expect(yml.remote_write?.[0]?.headers).toEqual({ [tenantHeader]: a });
    else expect(yml.remote_write?.[0]).not.toHaveProperty("headers");
    expect(yml.global.external_labels).toMatchObject({ cluster: a });
  }
}

/** The article's query, as `cluster/namespace` -> pods. */
export async function podsByClusterNamespace(api: PromApi): Promise<Record<string, number>> {
  const answer = await api.query("sum(kube_pod_info) by (cluster, namespace)");
  return Object.fromEntries(
    answer.map((s) => [`${s.metric.cluster}/${s.metric.namespace}`, Number(s.value[1])]),
  );
}

/** The exporters' pods of `clusters` as `cluster/namespace` -> count: what the article's query answers. */
export function expectedPods(truth: Truth, clusters: readonly string[]): Record<string, number> {
  return Object.fromEntries(
    clusters.flatMap((c) => Object.entries(truth.get(c) ?? {}).map(([ns, n]) => [`${c}/${ns}`, n])),
  );
}

const sameEntries = (a: object, b: object) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * The article's query through `api`, asked until it answers `expected` or `timeoutMs` passes (writes
 * take a few scrapes to arrive); returns the last answer, for the caller to compare.
 */
export async function podsOnceSettled(
  api: PromApi,
  expected: Record<string, number>,
  what: string,
  timeoutMs: number,
): Promise<Record<string, number>> {
  let actual: Record<string, number> = {};
  await Fleet.until(what, timeoutMs, async () => {
    actual = await podsByClusterNamespace(api);
    return sameEntries(actual, expected);
  }).catch(() => undefined);
  return actual;
}

/** `promfleet verify --json` against `url` exits 0 with every agent receiving. */
export async function expectVerifyReceiving(fleetDir: string, url: string): Promise<void> {
  const { code, stdout, stderr } = await promfleet(fleetDir, [
    "verify",
    "--aggregator-url",
    url,
    "--wait",
    "60s",
    "--json",
  ]);
  expect(code, `${url}: ${stderr}${stdout}`).toBe(0);
  const result = JSON.parse(stdout) as { clusters: { cluster: string; status: string }[] };
  expect(result.clusters.map((c) => `${c.cluster}:${c.status}`)).toEqual(AGENTS.map((a) => `${a}:receiving`));
}
