/**
 * Rules a schema cannot express, over a spec that passed the schema: relations between fields and
 * clusters, and keys that would be dangerous to render. One small function per rule.
 */
import { readDuration } from "../util/duration.js";
import type { Problem } from "../util/errors.js";
import { pointerOf, type Locator } from "./locate.js";
import type { RawCluster, RawFleet } from "./schema.js";
import { resolveWaves, type WaveProblem } from "../rollout/waves.js";
import { RECEIVER_RULES } from "../receiver/rules.js";

export type Rule = (raw: RawFleet, at: Locator) => Problem[];

/** kapp-controller raises an App's syncPeriod below this to it. */
const MIN_SYNC_PERIOD_NANOS = 30n * 1_000_000_000n;

/** Keys that reach an object's prototype when a dotted path is set on a plain object. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const uniqueNames: Rule = (raw, at) => {
  const firstIndex = new Map<string, number>();
  return raw.clusters.flatMap((c, i) => {
    const earlier = firstIndex.get(c.name);
    if (earlier === undefined) {
      firstIndex.set(c.name, i);
      return [];
    }
    return [
      {
        ...at(pointerOf("clusters", i, "name")),
        message: `cluster name "${c.name}" is already used by clusters[${earlier}]`,
        fix: "give every cluster a unique name (it becomes the folder clusters/<name>/ and the cluster label)",
      },
    ];
  });
};

const oneAggregator: Rule = (raw, at) => {
  const aggregators = aggregatorIndexes(raw);
  if (aggregators.length === 1) return [];
  const none = aggregators.length === 0;
  return [
    {
      ...at(none ? pointerOf("clusters") : pointerOf("clusters", aggregators[1] as number, "role")),
      message: `a fleet needs exactly one aggregator, found ${aggregators.length}`,
      fix: none
        ? "set role: aggregator on the cluster that receives the remote writes"
        : "keep one aggregator and make the others role: agent",
    },
  ];
};

const roleFields: Rule = (raw, at) =>
  raw.clusters.flatMap((c, i) => {
    const problems: Problem[] = [];
    if (c.role === "agent" && c.ingress)
      problems.push({
        ...at(pointerOf("clusters", i, "ingress")),
        message: "only the aggregator has an ingress",
        fix: "remove ingress from this agent",
      });
    if (c.role === "aggregator" && c.walPath)
      problems.push({
        ...at(pointerOf("clusters", i, "walPath")),
        message: "walPath is for agents; the aggregator keeps a TSDB in /data",
        fix: "remove walPath from the aggregator",
      });
    return problems;
  });

const remoteWriteTarget: Rule = (raw, at) => {
  const aggregators = aggregatorIndexes(raw);
  const aggregator = aggregators.length === 1 ? raw.clusters[aggregators[0] as number] : undefined;
  const hasAgents = raw.clusters.some((c) => c.role === "agent");
  if (!hasAgents || !aggregator || raw.remoteWrite?.url || aggregator.ingress?.host) return [];
  // An external receiver's missing URL is reported by RECEIVER_RULES, naming the store.
  if ((raw.remoteWrite?.receiver?.kind ?? "aggregator") !== "aggregator") return [];
  return [
    {
      ...at(pointerOf("remoteWrite")),
      message: "agents have no aggregator URL to remote-write to",
      fix: `set remoteWrite.url, or ingress.host on the aggregator "${aggregator.name}"`,
    },
  ];
};

const encryptedRemoteWrite: Rule = (raw, at) =>
  raw.remoteWrite?.url?.startsWith("http://")
    ? [
        {
          ...at(pointerOf("remoteWrite", "url")),
          message: "remote writes over plain http send every metric unencrypted",
          fix: "use an https:// URL",
        },
      ]
    : [];

const syncPeriodFloor: Rule = (raw, at) => {
  const period = raw.app?.syncPeriod === undefined ? undefined : readDuration(raw.app.syncPeriod);
  if (!period || "error" in period || period.nanos >= MIN_SYNC_PERIOD_NANOS) return [];
  return [
    {
      ...at(pointerOf("app", "syncPeriod")),
      message: "kapp-controller raises a syncPeriod under 30s to 30s",
      fix: "use 30s or more",
    },
  ];
};

const sopsRecipients: Rule = (raw, at) =>
  raw.secrets?.provider === "sops" && !raw.secrets.sops
    ? [
        {
          ...at(pointerOf("secrets")),
          message: "secrets.provider is sops but no age recipients are named",
          fix: "add secrets.sops.ageRecipients with the administrators' age public keys (each cluster's own key goes in clusters[].ageRecipient)",
        },
      ]
    : [];

const caWithoutSkipVerify: Rule = (raw, at) =>
  raw.remoteWrite?.tls?.insecureSkipVerify && raw.remoteWrite.tls.caSecret
    ? [
        {
          ...at(pointerOf("remoteWrite", "tls")),
          message: "caSecret has no effect while insecureSkipVerify is true",
          fix: "remove insecureSkipVerify to verify the aggregator with the CA",
        },
      ]
    : [];

/**
 * Render sets each `values` key path on a plain object; a `__proto__` segment would reach the shared
 * Object prototype and change every other cluster's values.
 */
const valuesKeyPaths: Rule = (raw, at) =>
  raw.clusters.flatMap((c, i) => prototypeKeys(c.values ?? {}, ["clusters", i, "values"], at));

function prototypeKeys(map: Record<string, unknown>, where: (string | number)[], at: Locator): Problem[] {
  return Object.entries(map).flatMap(([key, value]) => {
    const segment = key.split(".").find((s) => PROTOTYPE_KEYS.has(s));
    const own: Problem[] = segment
      ? [
          {
            ...at(pointerOf(...where), key),
            message: `key path segment "${segment}" would reach the JavaScript object prototype and change other clusters' values`,
            fix: `remove this key, or rename the segment: the package has no "${segment}" value`,
          },
        ]
      : [];
    const nested = isPlainMap(value) ? prototypeKeys(value, [...where, key], at) : [];
    return [...own, ...nested];
  });
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function aggregatorIndexes(raw: RawFleet): number[] {
  return raw.clusters.flatMap((c: RawCluster, i) => (c.role === "aggregator" ? [i] : []));
}

// ---- waves and rollout (issue 18) ----

/** Every problem of `waves:` (see src/rollout/waves.ts), at the wave or cluster it is about. */
const waveSelection: Rule = (raw, at) => {
  if (!raw.waves) return [];
  const { problems } = resolveWaves(raw.waves, raw.clusters);
  return problems.map((p) => ({ ...at(wavePointer(p)), message: p.message, fix: p.fix }));
};

function wavePointer(p: WaveProblem): string {
  if (p.cluster !== undefined) return pointerOf("clusters", p.cluster);
  return p.field ? pointerOf("waves", p.wave ?? 0, p.field) : pointerOf("waves", p.wave ?? 0);
}

/** `rollout:` is written by promfleet rollout: one target, a wave that exists. */
const rolloutBlock: Rule = (raw, at) => {
  const rollout = raw.rollout;
  if (!rollout) return [];
  const problems: Problem[] = [];
  const targets = [rollout.packageVersion, rollout.overlay].filter((t) => t !== undefined).length;
  if (targets !== 1)
    problems.push({
      ...at(pointerOf("rollout")),
      message: `rollout needs exactly one of packageVersion and overlay, found ${targets}`,
      fix: "let promfleet rollout start write this block, or remove it (promfleet rollout abort does)",
    });
  const names = (raw.waves ?? []).map((w) => w.name);
  if (!names.includes(rollout.wave))
    problems.push({
      ...at(pointerOf("rollout", "wave")),
      message: `rollout.wave "${rollout.wave}" is not a wave of this fleet`,
      fix: names.length
        ? `use one of the waves: ${names.join(", ")}`
        : "add waves: to the spec (a rollout goes through them in order)",
    });
  return problems;
};

// ---- end of waves and rollout ----

export const FLEET_RULES: Rule[] = [
  uniqueNames,
  oneAggregator,
  roleFields,
  remoteWriteTarget,
  encryptedRemoteWrite,
  syncPeriodFloor,
  sopsRecipients,
  caWithoutSkipVerify,
  valuesKeyPaths,
  waveSelection,
  rolloutBlock,
  // --- receiver (issue 17) ---
  ...RECEIVER_RULES,
  // --- end receiver ---
];

/** With basic auth, a cluster without a credential could not write (agent) or scrape itself (aggregator). */
export const credentialRule: Rule = (raw, at) => {
  if ((raw.remoteWrite?.auth ?? "basic") !== "basic") return [];
  return raw.clusters.flatMap((c, i) =>
    c.credential
      ? []
      : [
          {
            ...at(pointerOf("clusters", i)),
            message: `cluster ${c.name} has no credential, and remoteWrite.auth is basic`,
            fix: `run: promfleet rotate-credential ${c.name}`,
          },
        ],
  );
};
