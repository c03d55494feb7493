/**
 * The receiver's share of what overlays see as `cluster.remoteWrite` (README "Overlays"), and the check
 * that the rendered remote_write still says it after every overlay.
 */
import type { Problem } from "../util/errors.js";
import { agentWriteUrl, isExternal, tenantHeaders, type Receiver } from "./receiver.js";

/** `kind`, `url` (with a VictoriaMetrics account in its path) and `headers` as name/value pairs. */
export function receiverDataValues(r: Receiver, writeUrl: string, cluster: string) {
  return {
    kind: r.kind,
    url: agentWriteUrl(r, writeUrl, cluster),
    headers: Object.entries(tenantHeaders(r, cluster)).map(([name, value]) => ({ name, value })),
  };
}

type Json = Record<string, unknown>;

/**
 * An agent that writes to an external store must reach it with its tenant and keep its `cluster`
 * external label: an overlay written before receivers existed (no `headers`), or one that rewrites the
 * URL or the label, would put the cluster's series into another tenant or make them anonymous.
 */
export function receiverProblems(
  r: Receiver,
  writeUrl: string,
  cluster: string,
  config: Json,
  file: string,
): Problem[] {
  if (!isExternal(r)) return [];
  const expected = receiverDataValues(r, writeUrl, cluster);
  const entries = (config.remote_write as Json[] | undefined) ?? [];
  const problems: Problem[] = [];
  const base = "prometheus.config.prometheus_yml";
  const entry = entries.find((e) => e.url === expected.url);
  if (!entry)
    problems.push({
      file,
      path: `${base}.remote_write`,
      message: `cluster ${cluster}: no remote_write to ${r.kind} at ${expected.url}`,
      fix: "keep the agent role overlay's remote_write (url: cluster.remoteWrite.url)",
    });
  const headers = (entry?.headers ?? {}) as Json;
  for (const { name, value } of expected.headers) {
    const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    if (entry && found !== value)
      problems.push({
        file,
        path: `${base}.remote_write[${entries.indexOf(entry)}].headers`,
        message: `cluster ${cluster}: ${r.kind} needs the header ${name}: ${value}, found ${found === undefined ? "none" : JSON.stringify(found)}`,
        fix: "set headers from cluster.remoteWrite.headers in overlays/roles/agent.yaml (promfleet init's version does), or remove the overlay that changes them",
      });
  }
  const label = ((config.global as Json | undefined)?.external_labels as Json | undefined)?.cluster;
  if (label !== cluster)
    problems.push({
      file,
      path: `${base}.global.external_labels.cluster`,
      message: `cluster ${cluster}: the store tells clusters apart by the cluster external label, found ${label === undefined ? "none" : JSON.stringify(label)}`,
      fix: "keep the agent role overlay's external_labels.cluster",
    });
  return problems;
}
