/**
 * Rules for `remoteWrite.receiver` that the schema cannot express: which fields an external store needs,
 * which tenancies each kind supports, the tenant's syntax per kind, URLs meant for another store, and
 * the package's Prometheus version for tenant headers.
 */
import type { Problem } from "../util/errors.js";
import { pointerOf, type Locator } from "../fleet/locate.js";
import type { RawFleet } from "../fleet/schema.js";
import { KIND_CONTRACTS, type ExternalKind } from "./receiver.js";

type Rule = (raw: RawFleet, at: Locator) => Problem[];
type RawReceiver = NonNullable<NonNullable<RawFleet["remoteWrite"]>["receiver"]>;
type ExternalRaw = RawReceiver & { kind: ExternalKind };

/** Prometheus added `headers` to remote_write in 2.25.0 (CHANGELOG: "Allow passing along custom remote_write HTTP headers", #8416). */
const HEADERS_SINCE = [2, 25] as const;

const EXTERNAL_ONLY_FIELDS = ["queryUrl", "tenancy", "tenant", "aggregatorCluster"] as const;

const at2 = (at: Locator, ...segments: (string | number)[]) =>
  at(pointerOf("remoteWrite", "receiver", ...segments));

function externalReceiver(raw: RawFleet): ExternalRaw | undefined {
  const r = raw.remoteWrite?.receiver;
  return r && r.kind !== "aggregator" ? (r as ExternalRaw) : undefined;
}

/** The aggregator receives by itself: the store fields would silently do nothing. */
const aggregatorTakesNoStoreFields: Rule = (raw, at) => {
  const r = raw.remoteWrite?.receiver;
  if (!r || r.kind !== "aggregator") return [];
  return EXTERNAL_ONLY_FIELDS.filter((f) => r[f] !== undefined).map((f) => ({
    ...at2(at, f),
    message: `${f} is for an external store; with kind: aggregator the agents write to the fleet's aggregator`,
    fix: `remove ${f}, or set kind to thanos-receive, mimir or victoriametrics`,
  }));
};

/** An external store needs its write and query URLs, its tenancy and the aggregator's fate, all explicit. */
const externalNeedsItsFields: Rule = (raw, at) => {
  const r = externalReceiver(raw);
  if (!r) return [];
  const problems: Problem[] = [];
  if (!raw.remoteWrite?.url)
    problems.push({
      ...at(pointerOf("remoteWrite")),
      message: `agents write to ${r.kind}, but remoteWrite.url does not say where`,
      fix: `set remoteWrite.url to the store's remote-write URL, e.g. ${exampleWriteUrl(r.kind)}`,
    });
  const missing: [keyof ExternalRaw, string][] = [
    ["queryUrl", "set queryUrl to the store's query API base URL (what promfleet verify asks)"],
    [
      "tenancy",
      `set tenancy: ${KIND_CONTRACTS[r.kind].tenancies.join(" or ")} (see "When one aggregator is not enough" in the README)`,
    ],
    [
      "aggregatorCluster",
      "say what the aggregator cluster becomes: agent (it writes to the store too) or keep (it stays as it is)",
    ],
  ];
  for (const [field, fix] of missing)
    if (r[field] === undefined) problems.push({ ...at2(at), message: `kind ${r.kind} needs ${field}`, fix });
  return problems;
};

const tenancyOfKind: Rule = (raw, at) => {
  const r = externalReceiver(raw);
  if (!r?.tenancy) return [];
  const contract = KIND_CONTRACTS[r.kind];
  const problems: Problem[] = [];
  if (!contract.tenancies.includes(r.tenancy))
    problems.push({
      ...at2(at, "tenancy"),
      message: tenancyMismatch(r.kind, r.tenancy),
      fix: `use tenancy: ${contract.tenancies.join(" or ")}`,
    });
  if (r.tenancy === "shared" && r.tenant === undefined)
    problems.push({
      ...at2(at, "tenancy"),
      message: "tenancy shared needs the shared tenant's name",
      fix: `add tenant: <name> (${contract.tenantFix})`,
    });
  if (r.tenancy !== "shared" && r.tenant !== undefined)
    problems.push({
      ...at2(at, "tenant"),
      message: `tenant is the shared tenant's name; with tenancy ${r.tenancy} it would be ignored`,
      fix: "remove tenant, or set tenancy: shared",
    });
  if (r.tenancy === "shared" && r.tenant !== undefined && !contract.tenantPattern.test(r.tenant))
    problems.push({
      ...at2(at, "tenant"),
      message: `"${r.tenant}" is not a tenant ${r.kind} accepts`,
      fix: contract.tenantFix,
    });
  return problems;
};

function tenancyMismatch(kind: ExternalKind, tenancy: string): string {
  if (kind === "victoriametrics" && tenancy === "per-cluster")
    return "VictoriaMetrics accounts are numbers, not cluster names: per-cluster tenancy is not supported";
  if (tenancy === "none") return `${kind} always stores writes under a tenant`;
  return `${kind} does not support tenancy ${tenancy}`;
}

/** A write URL with another store's path would be answered 404 and lose every sample. */
const writeUrlOfKind: Rule = (raw, at) => {
  const r = externalReceiver(raw);
  const text = raw.remoteWrite?.url;
  if (!r || !text || !URL.canParse(text)) return [];
  const url = new URL(text);
  const location = () => at(pointerOf("remoteWrite", "url"));
  if (r.kind === "victoriametrics" && r.tenancy === "shared")
    return url.pathname.includes("/insert/") || url.pathname.endsWith("/write")
      ? [
          {
            ...location(),
            message:
              "with VictoriaMetrics cluster, remoteWrite.url is vminsert's base URL: promfleet adds the account's path",
            fix: `write ${url.origin}/ (promfleet renders ${url.origin}/insert/<tenant>/prometheus/api/v1/write)`,
          },
        ]
      : [];
  const expected = r.kind === "victoriametrics" ? "/api/v1/write" : KIND_CONTRACTS[r.kind].writePath;
  if (!expected || url.pathname.endsWith(expected)) return [];
  return [
    {
      ...location(),
      message: `${r.kind} receives remote writes at ${expected}; ${url.pathname} would not store them`,
      fix: `write ${url.origin}${expected} (behind a path prefix: <prefix>${expected})`,
    },
  ];
};

/** queryUrl is the API's base; promfleet adds the kind's query path (and account) itself. */
const queryUrlIsBase: Rule = (raw, at) => {
  const text = externalReceiver(raw)?.queryUrl;
  if (!text) return [];
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const problems: Problem[] = [];
  if (!url || url.pathname.includes("/api/v1/"))
    problems.push({
      ...at2(at, "queryUrl"),
      message: "queryUrl is the query API's base URL; promfleet adds the kind's query path",
      fix: `write e.g. ${url ? url.origin : "https://query.example.com"}`,
    });
  if (url && (url.username || url.password))
    problems.push({
      ...at2(at, "queryUrl"),
      message: "the URL carries a user name or password, which would be committed in plaintext",
      fix: "remove it; promfleet verify takes credentials from --username/--password-file or --bearer-token-env",
    });
  return problems;
};

/** Tenant headers need remote_write `headers`, which the package's Prometheus must know. */
const prometheusKnowsHeaders: Rule = (raw, at) => {
  const r = externalReceiver(raw);
  if (!r || !KIND_CONTRACTS[r.kind].tenantHeader) return [];
  const version = /^(\d+)\.(\d+)/.exec(raw.package.version);
  if (!version) return [];
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major > HEADERS_SINCE[0] || (major === HEADERS_SINCE[0] && minor >= HEADERS_SINCE[1])) return [];
  return [
    {
      ...at(pointerOf("package", "version")),
      message: `${r.kind} takes the tenant in the ${KIND_CONTRACTS[r.kind].tenantHeader} header, but Prometheus ${major}.${minor} has no remote_write headers (since 2.25)`,
      fix: "use a package version with Prometheus 2.25 or later",
    },
  ];
};

export const RECEIVER_RULES: Rule[] = [
  aggregatorTakesNoStoreFields,
  externalNeedsItsFields,
  tenancyOfKind,
  writeUrlOfKind,
  queryUrlIsBase,
  prometheusKnowsHeaders,
];

function exampleWriteUrl(kind: ExternalKind): string {
  return kind === "victoriametrics"
    ? "https://victoria-metrics.example.com/api/v1/write"
    : `https://${kind}.example.com${KIND_CONTRACTS[kind].writePath ?? ""}`;
}

/** With VictoriaMetrics cluster, remoteWrite.url is vminsert's base URL, so it may have no path. */
export function writeUrlIsBase(raw: RawFleet): boolean {
  const r = externalReceiver(raw);
  return r?.kind === "victoriametrics" && r.tenancy === "shared";
}
