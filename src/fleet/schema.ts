/**
 * JSON Schema of `fleet.yaml`, checked with ajv before anything else reads the spec. It is the one source
 * of the spec's shape: `RawFleet`, the type of a spec that passed it, is derived from it.
 */
import { PROMETHEUS_DURATION_PATTERN } from "../util/duration.js";
import type { FromSchema } from "./schema-type.js";

export const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** Prometheus' duration syntax (model.ParseDuration); its range is checked after the schema. */
const PROMETHEUS_DURATION = PROMETHEUS_DURATION_PATTERN;
/** A Go duration as Kubernetes reads it (metav1.Duration), hours to seconds. */
export const GO_DURATION = "^(?!$)(\\d+h)?(\\d+m)?(\\d+s)?$";
/** A Kubernetes quantity as used for PVC sizes. */
export const STORAGE_QUANTITY = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$";
const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/** A file committed in the fleet repository: relative to its root, never leaving it. */
export const REPO_FILE_PATH = "^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]+\\.ya?ml$";

const BCRYPT_HASH = "^\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}$";
const AGE_RECIPIENT = "^age1[02-9ac-hj-np-z]{58}$";

const tls = {
  type: "object",
  additionalProperties: false,
  properties: { insecureSkipVerify: { type: "boolean" } },
} as const;

const remoteWriteTls = {
  type: "object",
  additionalProperties: false,
  properties: {
    insecureSkipVerify: { type: "boolean" },
    caSecret: { type: "string", pattern: DNS1123_SUBDOMAIN },
  },
} as const;

// ---- waves, labels and per-cluster package pins (issue 18: rolling a change out in waves) ----
/** A label key or value as Kubernetes allows them (the name part; no prefix). */
const LABEL_TEXT = "^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$";
/** A cluster name, a glob over names (`*`, `?`), or `*` alone: every cluster no other wave selects. */
export const WAVE_CLUSTER_PATTERN = "^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$";
const PACKAGE_VERSION = "^[0-9A-Za-z.+_-]+$";

const labelMap = {
  type: "object",
  propertyNames: { pattern: LABEL_TEXT, maxLength: 63 },
  additionalProperties: { type: "string", pattern: LABEL_TEXT, maxLength: 63 },
} as const;

/** What a cluster entry gains for waves: labels to select it by, a pinned version, staged overlays. */
const waveClusterProperties = {
  labels: labelMap,
  package: {
    type: "object",
    additionalProperties: false,
    required: ["version"],
    properties: { version: { type: "string", minLength: 1, pattern: PACKAGE_VERSION } },
  },
  stagedOverlays: { type: "array", minItems: 1, items: { type: "string", pattern: REPO_FILE_PATH } },
} as const;

/** `waves:` (ordered selectors) and `rollout:` (the change in progress, written by promfleet rollout). */
const waveFleetProperties = {
  waves: {
    type: "array",
    minItems: 1,
    items: {
      type: "object",
      additionalProperties: false,
      required: ["name"],
      properties: {
        name: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
        clusters: { type: "array", minItems: 1, items: { type: "string", pattern: WAVE_CLUSTER_PATTERN } },
        labels: labelMap,
      },
    },
  },
  rollout: {
    type: "object",
    additionalProperties: false,
    required: ["wave"],
    properties: {
      packageVersion: { type: "string", minLength: 1, pattern: PACKAGE_VERSION },
      overlay: { type: "string", pattern: REPO_FILE_PATH },
      wave: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
    },
  },
} as const;
// ---- end of waves ----
// --- receiver (issue 17): where agents remote-write; kind-specific rules in src/receiver/rules.ts ---
const receiver = {
  type: "object",
  additionalProperties: false,
  required: ["kind"],
  properties: {
    kind: { enum: ["aggregator", "thanos-receive", "mimir", "victoriametrics"] },
    queryUrl: { type: "string", pattern: "^https?://[^\\s]+$" },
    tenancy: { enum: ["per-cluster", "shared", "none"] },
    tenant: { type: "string", minLength: 1 },
    aggregatorCluster: { enum: ["agent", "keep"] },
  },
} as const;
// --- end receiver ---

const cluster = {
  type: "object",
  additionalProperties: false,
  required: ["name", "role"],
  properties: {
    name: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
    role: { enum: ["aggregator", "agent"] },
    retention: { type: "string", pattern: PROMETHEUS_DURATION },
    storage: { type: "string", pattern: STORAGE_QUANTITY },
    ingress: {
      type: "object",
      additionalProperties: false,
      required: ["host"],
      properties: {
        host: { type: "string", pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
        controllerNamespace: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
      },
    },
    walPath: { type: "string", pattern: "^(in-container|/[A-Za-z0-9._/-]*)$" },
    delivery: { enum: ["kapp-controller", "flux"] },
    ageRecipient: { type: "string", pattern: AGE_RECIPIENT },
    credential: {
      type: "object",
      additionalProperties: false,
      required: ["passwordHash"],
      properties: {
        passwordHash: { type: "string", pattern: BCRYPT_HASH },
        generation: { type: "integer", minimum: 0 },
        previousPasswordHash: { type: "string", pattern: BCRYPT_HASH },
      },
    },
    overlays: { type: "array", items: { type: "string", pattern: REPO_FILE_PATH } },
    values: {
      type: "object",
      propertyNames: { pattern: "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$" },
    },
    ...waveClusterProperties,
  },
} as const;

export const fleetSchema = {
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind", "package", "git", "clusters"],
  properties: {
    apiVersion: { const: "promfleet.dev/v1alpha1" },
    kind: { const: "Fleet" },
    package: {
      type: "object",
      additionalProperties: false,
      required: ["refName", "version"],
      properties: {
        refName: { type: "string", pattern: DNS1123_SUBDOMAIN },
        version: { type: "string", minLength: 1, pattern: "^[0-9A-Za-z.+_-]+$" },
        namespace: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
        monitoringNamespace: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
        definition: { type: "string", pattern: REPO_FILE_PATH },
      },
    },
    git: {
      type: "object",
      additionalProperties: false,
      required: ["url"],
      properties: {
        url: { type: "string", pattern: "^(https://|ssh://|git@)[^\\s]+$" },
        branch: { type: "string", pattern: "^[A-Za-z0-9._/-]+$" },
        secretName: { type: "string", pattern: DNS1123_SUBDOMAIN },
      },
    },
    app: {
      type: "object",
      additionalProperties: false,
      properties: { syncPeriod: { type: "string", pattern: GO_DURATION } },
    },
    remoteWrite: {
      type: "object",
      additionalProperties: false,
      properties: {
        url: { type: "string", pattern: "^https?://[^\\s]+$" },
        tls: remoteWriteTls,
        auth: { enum: ["basic", "none"] },
        receiver, // issue 17
      },
    },
    kubernetesApi: { type: "object", additionalProperties: false, properties: { tls } },
    guardClusterLabel: { type: "boolean" },
    exposeFullApi: { type: "boolean" },
    rbac: { enum: ["cluster-admin", "least-privilege"] },
    verify: {
      type: "object",
      additionalProperties: false,
      required: ["aggregatorUrl"],
      properties: {
        aggregatorUrl: { type: "string", pattern: "^https?://[^\\s]+$" },
        username: { type: "string", minLength: 1 },
      },
    },
    secrets: {
      type: "object",
      additionalProperties: false,
      properties: {
        provider: { enum: ["external", "sops"] },
        sops: {
          type: "object",
          additionalProperties: false,
          required: ["ageRecipients"],
          properties: {
            ageRecipients: { type: "array", minItems: 1, items: { type: "string", pattern: AGE_RECIPIENT } },
          },
        },
      },
    },
    delivery: { enum: ["kapp-controller", "flux"] },
    flux: {
      type: "object",
      additionalProperties: false,
      properties: {
        namespace: { type: "string", pattern: DNS1123_LABEL, maxLength: 63 },
        interval: { type: "string", pattern: GO_DURATION },
      },
    },
    overlays: { type: "array", items: { type: "string", pattern: REPO_FILE_PATH } },
    clusters: { type: "array", minItems: 1, items: cluster },
    ...waveFleetProperties,
  },
} as const;

/** A spec that passed `fleetSchema`, before defaults are filled in. */
export type RawFleet = FromSchema<typeof fleetSchema>;
export type RawCluster = RawFleet["clusters"][number];

/** What to tell the user for each pattern a value failed, keyed by the pattern itself. */
export const PATTERN_FIXES: Record<string, string> = {
  [DNS1123_LABEL]:
    "use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
  [PROMETHEUS_DURATION]:
    "use a Prometheus duration: numbers with units (y, w, d, h, m, s, ms), largest unit first, each once, e.g. 5m, 2h, 42d, 1d12h",
  [GO_DURATION]: "use hours, minutes and seconds, e.g. 30s, 5m or 1h30m",
  [STORAGE_QUANTITY]: "use a Kubernetes quantity, e.g. 1Gi or 150Gi",
  [DNS1123_SUBDOMAIN]: "use lowercase letters, digits, '-' and '.', e.g. prometheus.example.com",
  [BCRYPT_HASH]: "use the bcrypt hash promfleet onboard-cluster writes (promfleet hash-password prints one)",
  [AGE_RECIPIENT]: "use an age public key (age1…), e.g. from age-keygen -y key.txt",
  [LABEL_TEXT]:
    "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters",
  [WAVE_CLUSTER_PATTERN]:
    'name a cluster, a glob over cluster names such as edge-* (* and ? only), or "*" for every cluster no other wave selects',
  [REPO_FILE_PATH]:
    "give a path to a .yaml or .yml file inside the repository, relative to the fleet root, without '..'",
};
