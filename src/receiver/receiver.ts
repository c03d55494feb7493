/**
 * Where the agents remote-write: the fleet's own aggregator (the default) or an external, horizontally
 * scaled store. Everything that differs between store kinds lives here: the write and query paths, the
 * tenant header or URL account, and what tenancy means for each.
 *
 * The stores' documented contracts:
 * - Thanos Receive: POST /api/v1/receive, tenant in the `THANOS-TENANT` header (stored as the external
 *   label `tenant_id`, `--receive.tenant-label-name`); queried through Thanos Query at /api/v1/query.
 * - Grafana Mimir: POST /api/v1/push with `X-Scope-OrgID: <tenant>`; queried at
 *   /prometheus/api/v1/query with the same header (one tenant per request).
 * - VictoriaMetrics cluster: vminsert /insert/<accountID>/prometheus/api/v1/write and vmselect
 *   /select/<accountID>/prometheus/api/v1/query; accounts are numbers (`accountID[:projectID]`).
 *   VictoriaMetrics single-node has no tenants: /api/v1/write and /api/v1/query.
 */

export const RECEIVER_KINDS = ["aggregator", "thanos-receive", "mimir", "victoriametrics"] as const;
export type ReceiverKind = (typeof RECEIVER_KINDS)[number];
export type ExternalKind = Exclude<ReceiverKind, "aggregator">;

/**
 * per-cluster: each cluster writes into the tenant named like the cluster. shared: every cluster writes
 * into the one tenant `tenant`. none: the store has no tenants (VictoriaMetrics single-node).
 */
export type Tenancy = "per-cluster" | "shared" | "none";

/** What happens to the spec's aggregator cluster once agents write to an external store. */
export type AggregatorCluster = "agent" | "keep";

export type Receiver =
  | { kind: "aggregator" }
  | {
      kind: ExternalKind;
      /** Base URL of the store's query API (Thanos Query, Mimir, vmselect or VictoriaMetrics). */
      queryUrl: string;
      tenancy: Tenancy;
      /** With tenancy shared: the tenant every cluster writes into. */
      tenant?: string;
      aggregatorCluster: AggregatorCluster;
    };

export type ExternalReceiver = Extract<Receiver, { kind: ExternalKind }>;

export const AGGREGATOR_RECEIVER: Receiver = { kind: "aggregator" };

/** The label Thanos Receive stores each tenant's series under (its --receive.tenant-label-name default). */
export const THANOS_TENANT_LABEL = "tenant_id";

interface KindContract {
  /** The remote-write path the store serves, for the rule that catches a URL meant for another store. */
  writePath?: string;
  /** Header carrying the tenant on writes and queries, when the store takes it in a header. */
  tenantHeader?: string;
  /** Which tenancies the store supports. */
  tenancies: readonly Tenancy[];
  /** The shared tenant's syntax, and how to fix it. */
  tenantPattern: RegExp;
  tenantFix: string;
}

export const KIND_CONTRACTS: Record<ExternalKind, KindContract> = {
  "thanos-receive": {
    writePath: "/api/v1/receive",
    tenantHeader: "THANOS-TENANT",
    tenancies: ["per-cluster", "shared"],
    tenantPattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
    tenantFix: "use letters, digits, '_', '.' and '-' (Thanos makes a directory of it)",
  },
  mimir: {
    writePath: "/api/v1/push",
    tenantHeader: "X-Scope-OrgID",
    tenancies: ["per-cluster", "shared"],
    // Mimir's tenant IDs: up to 150 of these characters, and not "." or "..".
    tenantPattern: /^(?!\.{1,2}$)[A-Za-z0-9!_.*'()-]{1,150}$/,
    tenantFix: "use up to 150 letters, digits and !-_.*'() (Mimir's tenant ID syntax)",
  },
  victoriametrics: {
    tenancies: ["shared", "none"],
    tenantPattern: /^\d{1,10}(:\d{1,10})?$/,
    tenantFix:
      "use the numeric account of VictoriaMetrics cluster: accountID or accountID:projectID, e.g. 0 or 42:1",
  },
};

export function isExternal(r: Receiver): r is ExternalReceiver {
  return r.kind !== "aggregator";
}

/** The tenant a cluster writes into, or undefined when the receiver has none. */
export function tenantOf(r: Receiver, cluster: string): string | undefined {
  if (!isExternal(r) || r.tenancy === "none") return undefined;
  return r.tenancy === "per-cluster" ? cluster : r.tenant;
}

/** Request headers that name a cluster's tenant to the store (writes and queries alike). */
export function tenantHeaders(r: Receiver, cluster: string): Record<string, string> {
  const tenant = tenantOf(r, cluster);
  const header = isExternal(r) ? KIND_CONTRACTS[r.kind].tenantHeader : undefined;
  return tenant !== undefined && header ? { [header]: tenant } : {};
}

/** `base` with `path` appended below whatever path prefix it has. */
export function underBase(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  return url.toString();
}

/**
 * The URL a cluster's agent posts to: `remoteWrite.url` as written, except for VictoriaMetrics cluster,
 * where it is vminsert's base URL and the account goes into the path.
 */
export function agentWriteUrl(r: Receiver, writeUrl: string, cluster: string): string {
  const tenant = tenantOf(r, cluster);
  if (r.kind !== "victoriametrics" || tenant === undefined) return writeUrl;
  return underBase(writeUrl, `insert/${tenant}/prometheus/api/v1/write`);
}

/** Where `verify` asks one tenant: the query endpoint, its headers, and the series selector. */
export interface QueryTarget {
  /** The tenant asked, or undefined for a store without tenants (and for the aggregator). */
  tenant?: string;
  /** Base URL plus the kind's query path. */
  url: string;
  headers: Record<string, string>;
  /** The freshness selector; Thanos Query sees every tenant, so it is narrowed to this one. */
  selector: string;
  /** The clusters whose answer counts from this tenant (a cluster in the wrong tenant is missing). */
  clusters: string[];
}

const UP_SELECTOR = 'up{cluster!=""}';

/** One query target per tenant the given clusters write into. */
export function queryTargets(r: Receiver, baseUrl: string, clusters: readonly string[]): QueryTarget[] {
  const byTenant = new Map<string | undefined, string[]>();
  // Without named clusters, only a store without per-cluster tenants can be asked (verify checks).
  if (clusters.length === 0) byTenant.set(tenantOf(r, ""), []);
  for (const c of clusters) {
    const tenant = tenantOf(r, c);
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), c]);
  }
  return [...byTenant].map(([tenant, members]) => ({
    tenant,
    url: underBase(baseUrl, queryPath(r, tenant)),
    headers: tenantHeaders(r, members[0] ?? ""),
    selector:
      r.kind === "thanos-receive" && tenant !== undefined
        ? `up{cluster!="",${THANOS_TENANT_LABEL}=${JSON.stringify(tenant)}}`
        : UP_SELECTOR,
    clusters: members,
  }));
}

function queryPath(r: Receiver, tenant: string | undefined): string {
  if (r.kind === "mimir") return "prometheus/api/v1/query";
  if (r.kind === "victoriametrics" && tenant !== undefined) return `select/${tenant}/prometheus/api/v1/query`;
  return "api/v1/query";
}

/** The clusters that write to the receiver: agents, and the aggregator itself only when it receives. */
export function writingClusters<C extends { name: string; role: string }>(r: Receiver, clusters: C[]): C[] {
  return isExternal(r) ? clusters.filter((c) => c.role === "agent") : clusters;
}
