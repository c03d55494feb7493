/** Fills promfleet's defaults (secure ones) into a spec that passed every check. */
import path from "node:path";
import type { RawCluster, RawFleet } from "./schema.js";
import type { ClusterSpec, Delivery, FleetSpec, Role, RolloutSpec } from "./spec.js";
import { receiverFromRaw, rendersAsAgent } from "../receiver/from-spec.js";

const DEFAULTS = {
  packageNamespace: "tkg-system",
  monitoringNamespace: "tanzu-system-monitoring",
  branch: "main",
  syncPeriod: "1m",
  retention: { aggregator: "15d", agent: "5m" } as Record<Role, string>,
  agentWalPath: "/data/agent-wal",
  agentStorage: "1Gi",
  delivery: "kapp-controller" as Delivery,
  fluxNamespace: "flux-system",
  fluxInterval: "10m",
  /** Where the Tanzu Contour package runs Envoy. */
  ingressControllerNamespace: "tanzu-system-ingress",
};

export function withDefaults(raw: RawFleet, root: string, file: string): FleetSpec {
  return {
    root,
    file,
    package: {
      refName: raw.package.refName,
      version: raw.package.version,
      namespace: raw.package.namespace ?? DEFAULTS.packageNamespace,
      monitoringNamespace: raw.package.monitoringNamespace ?? DEFAULTS.monitoringNamespace,
      definition:
        raw.package.definition === undefined ? undefined : path.posix.normalize(raw.package.definition),
    },
    git: { url: raw.git.url, branch: raw.git.branch ?? DEFAULTS.branch, secretName: raw.git.secretName },
    app: { syncPeriod: raw.app?.syncPeriod ?? DEFAULTS.syncPeriod },
    flux: {
      namespace: raw.flux?.namespace ?? DEFAULTS.fluxNamespace,
      interval: raw.flux?.interval ?? DEFAULTS.fluxInterval,
    },
    remoteWrite: {
      url: raw.remoteWrite?.url ?? aggregatorWriteUrl(raw),
      insecureSkipVerify: raw.remoteWrite?.tls?.insecureSkipVerify ?? false,
      caSecret: raw.remoteWrite?.tls?.caSecret,
      auth: raw.remoteWrite?.auth ?? "basic",
      receiver: receiverFromRaw(raw),
    },
    secrets: {
      provider: raw.secrets?.provider ?? "external",
      ageRecipients: raw.secrets?.sops?.ageRecipients ?? [],
    },
    kubernetesApi: { insecureSkipVerify: raw.kubernetesApi?.tls?.insecureSkipVerify ?? false },
    guardClusterLabel: raw.guardClusterLabel ?? true,
    exposeFullApi: raw.exposeFullApi ?? false,
    rbac: raw.rbac ?? "cluster-admin",
    verify: raw.verify,
    overlays: raw.overlays ?? [],
    clusters: raw.clusters.map((c) =>
      clusterWithDefaults(c, raw.delivery ?? DEFAULTS.delivery, rendersAsAgent(raw, c) ? "agent" : c.role),
    ),
    waves: (raw.waves ?? []).map((w) => ({
      name: w.name,
      clusters: w.clusters ?? [],
      labels: stringMap(w.labels),
    })),
    rollout: rolloutOf(raw.rollout),
  };
}

function rolloutOf(raw: RawFleet["rollout"]): RolloutSpec | undefined {
  if (!raw) return undefined;
  const target: RolloutSpec["target"] =
    raw.packageVersion !== undefined
      ? { kind: "packageVersion", version: raw.packageVersion }
      : { kind: "overlay", file: path.posix.normalize(raw.overlay ?? "") };
  return { target, wave: raw.wave };
}

/** Label maps passed the schema: every value is a string. */
function stringMap(map: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, String(v)]));
}

/** The package's ingress serves the remote-write receiver; "" when there is neither URL nor ingress (no agents). */
function aggregatorWriteUrl(raw: RawFleet): string {
  const host = raw.clusters.find((c) => c.role === "aggregator")?.ingress?.host;
  return host ? `https://${host}/api/v1/write` : "";
}

/**
 * `role` is the role the cluster renders as: the spec's, except an aggregator that an external receiver
 * turns into an agent (it then takes an agent's defaults, and its aggregator-only fields are dropped).
 */
function clusterWithDefaults(c: RawCluster, fleetDelivery: Delivery, role: Role): ClusterSpec {
  const agent = role === "agent";
  const retention = c.role === role ? c.retention : undefined;
  return {
    name: c.name,
    role,
    delivery: c.delivery ?? fleetDelivery,
    retention: retention ?? DEFAULTS.retention[role],
    storage: c.storage ?? (agent ? DEFAULTS.agentStorage : undefined),
    ingressHost: agent ? undefined : c.ingress?.host,
    ingressControllerNamespace: c.ingress?.controllerNamespace ?? DEFAULTS.ingressControllerNamespace,
    ageRecipient: c.ageRecipient,
    walPath: agent ? (c.walPath ?? DEFAULTS.agentWalPath) : undefined,
    passwordHash: c.credential?.passwordHash,
    credentialGeneration: c.credential?.generation ?? 0,
    previousPasswordHash: c.credential?.previousPasswordHash,
    overlays: c.overlays ?? [],
    values: c.values ?? {},
    labels: stringMap(c.labels),
    packageVersion: c.package?.version,
    stagedOverlays: (c.stagedOverlays ?? []).map((o) => path.posix.normalize(o)),
  };
}
