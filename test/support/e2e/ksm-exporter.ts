/**
 * A stand-in for kube-state-metrics: serves `kube_pod_info` for a fixed set of pods in the
 * Prometheus text exposition format on 127.0.0.1:<random port>. The test knows the truth
 * (pods per namespace) and compares it with what arrives at the aggregator.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface PodRef {
  namespace: string;
  pod: string;
}

export interface KsmExporter {
  /** `127.0.0.1:<port>`: what the local overlay puts in place of the in-cluster service address. */
  readonly target: string;
  readonly url: string;
  readonly pods: readonly PodRef[];
  /** Number of pods per namespace: the value `sum by (namespace) (kube_pod_info)` must show. */
  truth(): Map<string, number>;
  /** The `uid` label of each pod: unique per (cluster, namespace, pod), so every series can be traced to its exporter. */
  uidOf(p: PodRef): string;
  /** Number of scrapes served so far. */
  readonly scrapes: number;
  close(): Promise<void>;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function podUid(cluster: string, p: PodRef): string {
  const h = createHash("sha256").update(`${cluster}/${p.namespace}/${p.pod}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function renderKsmMetrics(cluster: string, pods: readonly PodRef[]): string {
  const lines = ["# HELP kube_pod_info [STABLE] Information about pod.", "# TYPE kube_pod_info gauge"];
  pods.forEach((p, i) => {
    const labels = {
      namespace: p.namespace,
      pod: p.pod,
      uid: podUid(cluster, p),
      host_ip: "10.0.0.1",
      pod_ip: `10.244.0.${(i % 250) + 2}`,
      node: `${cluster}-control-plane`,
      created_by_kind: "ReplicaSet",
      host_network: "false",
      priority_class: "",
    };
    const body = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");
    lines.push(`kube_pod_info{${body}} 1`);
  });
  return lines.join("\n") + "\n";
}

/** Starts the exporter for one cluster; `cluster` only seeds the pods' uids, it is not exposed as a label. */
export async function startKsmExporter(cluster: string, pods: readonly PodRef[]): Promise<KsmExporter> {
  const seen = new Set<string>();
  for (const p of pods) {
    const k = `${p.namespace}/${p.pod}`;
    if (seen.has(k)) throw new Error(`duplicate pod ${k} for exporter of ${cluster}`);
    seen.add(k);
  }
  const body = renderKsmMetrics(cluster, pods);
  let scrapes = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/metrics" || req.url?.startsWith("/metrics?")) {
      scrapes++;
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(body);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const target = `127.0.0.1:${port}`;
  return {
    target,
    url: `http://${target}/metrics`,
    pods,
    truth() {
      const m = new Map<string, number>();
      for (const p of pods) m.set(p.namespace, (m.get(p.namespace) ?? 0) + 1);
      return m;
    },
    uidOf: (p) => podUid(cluster, p),
    get scrapes() {
      return scrapes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
