/**
 * `promfleet verify`: ask the aggregator whether every cluster's data is arriving.
 *
 * Freshness query (one instant query, evaluated at `now`):
 *
 *     max by (cluster) (timestamp(up{cluster!=""}))
 *       or
 *     max by (cluster) (max_over_time(timestamp(up{cluster!=""})[<lookback>s:<res>s]))
 *
 * `up` is written by every scrape of every target, so each agent produces it as long as it
 * runs and scrapes anything (even when the target is down, `up` is 0 but still written), and
 * every agent's samples carry its `cluster` external label; the aggregator's own jobs carry
 * `cluster` as a target label. `timestamp()` gives the time of the newest sample, so
 * `max by (cluster)` is the newest sample per cluster:
 * - the left side sees samples within the aggregator's lookback delta (5m by default) with
 *   exact timestamps;
 * - the right side (a subquery over `lookbackSeconds`, default 1h, at `lookback/60`
 *   resolution) adds clusters whose newest sample is older than that. Each subquery step
 *   sees the newest sample within the lookback delta before it, so as long as the step
 *   (1 min for 1h) is shorter than the lookback delta, the maximum is that sample's exact
 *   timestamp. `or` keeps the left side where both answer.
 * A cluster is `receiving` when its newest sample is at most maxStalenessSeconds old,
 * `stale` when it is older but within the lookback, `missing` when there is none.
 */
import { VerifyError } from "./errors.js";
import { redactUrl } from "../util/redact.js";
import { displayUrl, httpGet, secretsOf, type HttpAuth } from "./http.js";
import { newestPerCluster } from "./query-answer.js";
import { AGGREGATOR_RECEIVER, queryTargets, type QueryTarget, type Receiver } from "../receiver/receiver.js";

export interface VerifyOptions {
  /**
   * Base URL of the aggregator's Prometheus (with a path prefix if it is served under one), or of the
   * external receiver's query API.
   */
  aggregatorUrl: string;
  /** What the clusters write to; default the aggregator. An external store is asked per tenant. */
  receiver?: Receiver;
  /** Clusters that must be receiving. Empty: every cluster the aggregator knows is reported. */
  clusters: string[];
  maxStalenessSeconds: number;
  /** Keep asking until every cluster is receiving or this much (real) time has passed; 0: ask once. */
  waitSeconds: number;
  /** Pause between polls while waiting; default 5s. */
  pollIntervalSeconds?: number;
  auth?: HttpAuth;
  /** Clock (ms since epoch) for the evaluation time and ages. Polling deadlines use the real clock. */
  now?: () => number;
  /** Progress lines while waiting. Never contains credentials. */
  onProgress?: (msg: string) => void;
  /** How far back a cluster counts as `stale` rather than `missing`; default 3600s. */
  lookbackSeconds?: number;
  /** Timeout for one HTTP request; default 15s. */
  requestTimeoutSeconds?: number;
}

export type ClusterHealth = {
  cluster: string;
  status: "receiving" | "stale" | "missing";
  lastSampleAgeSeconds?: number;
};

export interface VerifyResult {
  ok: boolean;
  clusters: ClusterHealth[];
  query: string;
}

export const DEFAULT_LOOKBACK_SECONDS = 3600;
const FRESHNESS_SELECTOR = 'up{cluster!=""}';

export function freshnessQuery(
  lookbackSeconds = DEFAULT_LOOKBACK_SECONDS,
  selector = FRESHNESS_SELECTOR,
): string {
  const lookback = Math.max(60, Math.ceil(lookbackSeconds));
  const resolution = Math.max(1, Math.ceil(lookback / 60));
  return (
    `max by (cluster) (timestamp(${selector}))` +
    ` or max by (cluster) (max_over_time(timestamp(${selector})[${lookback}s:${resolution}s]))`
  );
}

/** Turns newest-sample timestamps per cluster into health entries. */
export function classify(
  newest: ReadonlyMap<string, number>,
  clusters: readonly string[],
  nowSeconds: number,
  maxStalenessSeconds: number,
): ClusterHealth[] {
  const names = clusters.length > 0 ? [...new Set(clusters)] : [...newest.keys()].sort();
  return names.map((cluster) => {
    const ts = newest.get(cluster);
    if (ts === undefined) return { cluster, status: "missing" };
    const age = Math.max(0, Math.round((nowSeconds - ts) * 1000) / 1000);
    return { cluster, status: age <= maxStalenessSeconds ? "receiving" : "stale", lastSampleAgeSeconds: age };
  });
}

/** Where to ask: one target per tenant of an external store, or the aggregator for every cluster. */
function targetsOf(o: VerifyOptions): QueryTarget[] {
  if (!URL.canParse(o.aggregatorUrl))
    throw new VerifyError(
      `the aggregator URL is not a valid URL: ${JSON.stringify(redactUrl(o.aggregatorUrl))}`,
    );
  const receiver = o.receiver ?? AGGREGATOR_RECEIVER;
  if (o.clusters.length === 0 && receiver.kind !== "aggregator")
    throw new VerifyError(`name the clusters to verify: ${receiver.kind} is asked per tenant`);
  return queryTargets(receiver, o.aggregatorUrl, o.clusters);
}

/**
 * The freshness query for every target; returns newest sample time per cluster label value. A tenant's
 * answer counts only for the clusters that write into it (without named clusters: for every cluster).
 */
async function queryNewest(
  o: VerifyOptions,
  targets: QueryTarget[],
  evalSeconds: number,
): Promise<Map<string, number>> {
  const newest = new Map<string, number>();
  for (const target of targets) {
    const url = new URL(target.url);
    url.searchParams.set(
      "query",
      freshnessQuery(o.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS, target.selector),
    );
    url.searchParams.set("time", evalSeconds.toFixed(3));
    const answer = await httpGet(url, {
      auth: o.auth,
      headers: target.headers,
      timeoutMs: (o.requestTimeoutSeconds ?? 15) * 1000,
    });
    const found = newestPerCluster(answer, { where: displayUrl(url), secrets: secretsOf(o.auth, url) });
    for (const [cluster, ts] of found)
      if (o.clusters.length === 0 || target.clusters.includes(cluster)) newest.set(cluster, ts);
  }
  return newest;
}

function summary(r: ClusterHealth[]): string {
  return r
    .map(
      (c) =>
        `${c.cluster} ${c.status}${c.lastSampleAgeSeconds !== undefined ? ` (${c.lastSampleAgeSeconds.toFixed(1)}s)` : ""}`,
    )
    .join(", ");
}

function validate(o: VerifyOptions): void {
  if (!o.aggregatorUrl) throw new VerifyError("no aggregator URL given");
  if (!(o.maxStalenessSeconds > 0))
    throw new VerifyError(`maxStalenessSeconds must be > 0, got ${o.maxStalenessSeconds}`);
  if (!(o.waitSeconds >= 0)) throw new VerifyError(`waitSeconds must be >= 0, got ${o.waitSeconds}`);
  if (o.pollIntervalSeconds !== undefined && !(o.pollIntervalSeconds > 0))
    throw new VerifyError(`pollIntervalSeconds must be > 0, got ${o.pollIntervalSeconds}`);
}

/**
 * Asks the aggregator for the newest sample of every cluster. With waitSeconds > 0, asks
 * again every pollIntervalSeconds until all are receiving or the time is up; while waiting,
 * an unreachable or failing aggregator is retried and only its last error is thrown.
 */
export async function verifyFleet(o: VerifyOptions): Promise<VerifyResult> {
  validate(o);
  const now = o.now ?? Date.now;
  const targets = targetsOf(o);
  const query = freshnessQuery(o.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS, targets[0]?.selector);
  const deadline = Date.now() + o.waitSeconds * 1000;
  const pollMs = (o.pollIntervalSeconds ?? 5) * 1000;
  const target = displayUrl(o.aggregatorUrl);

  for (let attempt = 1; ; attempt++) {
    let result: VerifyResult | undefined;
    try {
      const evalMs = now();
      const newest = await queryNewest(o, targets, evalMs / 1000);
      const clusters = classify(newest, o.clusters, evalMs / 1000, o.maxStalenessSeconds);
      result = {
        ok: clusters.length > 0 && clusters.every((c) => c.status === "receiving"),
        clusters,
        query,
      };
    } catch (e) {
      if (!(e instanceof VerifyError) || Date.now() >= deadline) throw e;
      o.onProgress?.(`attempt ${attempt}: ${e.message}; retrying`);
    }
    if (result) {
      if (result.ok || Date.now() >= deadline) return result;
      o.onProgress?.(
        `attempt ${attempt} at ${target}: ${result.clusters.length ? summary(result.clusters) : "no clusters found"}; waiting up to ${Math.ceil((deadline - Date.now()) / 1000)}s more`,
      );
    }
    const pause = Math.min(pollMs, Math.max(0, deadline - Date.now()));
    await new Promise((r) => setTimeout(r, pause));
  }
}
