import type { Receiver } from "../receiver/receiver.js";

/** The fleet spec (`fleet.yaml`) after validation, with every default filled in. */

export type Role = "aggregator" | "agent";

/** What pulls clusters/<name>/ onto the cluster; kapp-controller installs the package either way. */
export type Delivery = "kapp-controller" | "flux";

/** Where an agent keeps its write-ahead log; `in-container` is Prometheus' default, lost on restart. */
export const WAL_IN_CONTAINER = "in-container";

export interface ClusterSpec {
  name: string;
  role: Role;
  delivery: Delivery;
  /** Aggregator: TSDB retention. Agent: --storage.agent.retention.max-time. */
  retention: string;
  /** PVC size; agents default to a tiny volume, the aggregator to the package default. */
  storage?: string;
  /** Aggregator only: host of the package's ingress. */
  ingressHost?: string;
  /** Aggregator only: namespace of the ingress controller, the only one admitted to Prometheus' port. */
  ingressControllerNamespace: string;
  /** SOPS: this cluster's own age public key; its credential is encrypted to it and the administrators'. */
  ageRecipient?: string;
  /** Agent only: --storage.agent.path, or WAL_IN_CONTAINER. */
  walPath?: string;
  /** bcrypt hash of the cluster's remote-write (agent) or self-scrape (aggregator) password. */
  passwordHash?: string;
  /** How often the credential was rotated; its parity picks the user name, Secret and file (see credentialSlot). */
  credentialGeneration: number;
  /** While a rotation rolls out: the previous credential's hash, still accepted by the aggregator. */
  previousPasswordHash?: string;
  /** Per-cluster ytt overlays, repository-relative, applied after the fleet-wide ones. */
  overlays: string[];
  /** Dotted-path values applied after every overlay (what `--set key=value` records). */
  values: Record<string, unknown>;
  // ---- waves (issue 18) ----
  /** What `waves:` select clusters by, besides their names. */
  labels: Record<string, string>;
  /** `package.version` pinned for this cluster (a wave of a rollout, or held back); else the fleet's. */
  packageVersion?: string;
  /** Fleet-wide overlays this cluster already has while a rollout stages them: applied right after the fleet's. */
  stagedOverlays: string[];
}

/** One entry of `waves:`: clusters by name, glob or `*` (the rest), and/or by labels. */
export interface WaveSpec {
  name: string;
  clusters: string[];
  labels: Record<string, string>;
}

/** `rollout:`: the change promfleet rollout is rolling out, and the last wave it reached. */
export interface RolloutSpec {
  target: { kind: "packageVersion"; version: string } | { kind: "overlay"; file: string };
  wave: string;
}

export interface FleetSpec {
  /** Absolute path of the fleet repository root. */
  root: string;
  /** Path of the spec file relative to root. */
  file: string;
  package: {
    refName: string;
    version: string;
    /** Namespace of the PackageInstall, its values Secret, service accounts and the bootstrap App. */
    namespace: string;
    /** Namespace the package deploys Prometheus into (for in-cluster addresses). */
    monitoringNamespace: string;
    /**
     * `package.definition`: repository-relative path of the committed Package (as `kubectl get package
     * … -o yaml` exports it) whose values schema the values are checked against; checked to exist.
     */
    definition?: string;
  };
  git: { url: string; branch: string; secretName?: string };
  app: { syncPeriod: string };
  flux: { namespace: string; interval: string };
  remoteWrite: {
    url: string;
    insecureSkipVerify: boolean;
    /** Secret (key ca.crt) in each agent's monitoring namespace holding the CA that signs the aggregator's certificate. */
    caSecret?: string;
    /** basic: each cluster authenticates with its own credential; the aggregator accepts only enrolled clusters. */
    auth: "basic" | "none";
    /** Where agents write: the aggregator (default) or an external store (src/receiver). */
    receiver: Receiver;
  };
  /** Where clusters' plaintext credentials live: created out of band, or SOPS-encrypted in the repository. */
  secrets: { provider: "external" | "sops"; ageRecipients: string[] };
  kubernetesApi: { insecureSkipVerify: boolean };
  /** Append a `labeldrop` of scraped `cluster` labels to agent jobs that could produce one. */
  guardClusterLabel: boolean;
  /**
   * INSECURE when true (the article's choice): the aggregator's ingress routes all of Prometheus and the
   * Alertmanager, and --web.enable-lifecycle stays. Default false: write and query only, reload by SIGHUP.
   */
  exposeFullApi: boolean;
  /**
   * cluster-admin (default, what the tanzu CLI does): the App's and the install's service accounts are
   * cluster-admin. least-privilege: the install's RBAC is in the bootstrap, limited to what the package
   * creates; the delivery's service account may touch the package namespace only.
   */
  rbac: "cluster-admin" | "least-privilege";
  /** Where `promfleet verify` (and the on-merge workflow) asks which clusters are receiving. */
  verify?: { aggregatorUrl: string; username?: string };
  /** Fleet-wide ytt overlays, repository-relative, applied to every cluster in this order. */
  overlays: string[];
  clusters: ClusterSpec[];
  /** Ordered waves a rollout goes through; empty when the spec has none. */
  waves: WaveSpec[];
  rollout?: RolloutSpec;
}
