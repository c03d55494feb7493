/**
 * Values the schema's syntax admits but the software that reads them refuses or silently replaces:
 * Prometheus 2.43 (the package's version) for retention and the remote-write URL, Kubernetes for volume
 * sizes, Go for intervals. Each rule cites the behaviour it guards against.
 */
import { MAX_DURATION_TEXT, readDuration } from "../util/duration.js";
import type { Problem } from "../util/errors.js";
import { pointerOf } from "./locate.js";
import type { Rule } from "./rules.js";
import { writeUrlIsBase } from "../receiver/rules.js";

/**
 * cmd/prometheus (2.43): a zero --storage.tsdb.retention.time leaves the default 15d in force;
 * tsdb/agent: a max-time <= 0 becomes the default 4h.
 */
const ZERO_RETENTION_BECOMES = {
  aggregator: "its default retention of 15d",
  agent: "its default max-time of 4h",
};

const retentionInRange: Rule = (raw, at) =>
  raw.clusters.flatMap((c, i) => {
    if (c.retention === undefined) return [];
    const reading = readDuration(c.retention);
    // located only for a problem: locating parses the whole spec again, with the yaml library
    const location = () => at(pointerOf("clusters", i, "retention"));
    if ("error" in reading)
      return reading.error === "out of range"
        ? [
            {
              ...location(),
              message: `Prometheus refuses to start with ${c.retention}: "duration out of range" (durations are int64 nanoseconds)`,
              fix: `use at most ${MAX_DURATION_TEXT} (106751d23h47m16s854ms exactly)`,
            },
          ]
        : [];
    if (reading.nanos > 0n) return [];
    return [
      {
        ...location(),
        message: `a zero retention is ignored: Prometheus silently keeps ${ZERO_RETENTION_BECOMES[c.role]}`,
        fix: `write the retention you want, e.g. ${c.role === "agent" ? "5m" : "15d"}, or leave retention out for promfleet's default`,
      },
    ];
  });

/** Kubernetes refuses a PersistentVolumeClaim whose storage request is not greater than zero. */
const storageAboveZero: Rule = (raw, at) =>
  raw.clusters.flatMap((c, i) =>
    c.storage !== undefined && Number.parseFloat(c.storage) === 0
      ? [
          {
            ...at(pointerOf("clusters", i, "storage")),
            message: `a volume of size ${c.storage} is zero: Kubernetes refuses the PersistentVolumeClaim`,
            fix: `give a size greater than zero, e.g. ${c.role === "agent" ? "1Gi" : "150Gi"}`,
          },
        ]
      : [],
  );

/** Go's time.Duration (metav1.Duration, Flux intervals) cannot hold more than 2^63-1 nanoseconds. */
const intervalsInRange: Rule = (raw, at) =>
  [
    { value: raw.app?.syncPeriod, pointer: pointerOf("app", "syncPeriod") },
    { value: raw.flux?.interval, pointer: pointerOf("flux", "interval") },
  ].flatMap(({ value, pointer }) => {
    const reading = value === undefined ? undefined : readDuration(value);
    return reading && "error" in reading && reading.error === "out of range"
      ? [
          {
            ...at(pointer),
            message: `${value} is out of range: Kubernetes and Flux read intervals as Go durations (int64 nanoseconds)`,
            fix: "use at most 2562047h",
          },
        ]
      : [];
  });

/**
 * Prometheus posts remote writes to the URL as written; without a path they reach the aggregator's web
 * UI at `/`, not the receiver at /api/v1/write. A password in the URL would be committed in plaintext.
 */
const remoteWriteUrl: Rule = (raw, at) => {
  const text = raw.remoteWrite?.url;
  if (text === undefined) return [];
  const location = () => at(pointerOf("remoteWrite", "url"));
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url)
    return [
      {
        ...location(),
        message: "is not a URL",
        fix: "write e.g. https://prometheus.example.com/api/v1/write",
      },
    ];
  const problems: Problem[] = [];
  if (url.pathname === "/" && !writeUrlIsBase(raw))
    problems.push({
      ...location(),
      message: "the URL has no path: remote writes would go to the aggregator's web UI, not its receiver",
      fix: `append the receiver's path: ${url.origin}/api/v1/write`,
    });
  if (url.username || url.password)
    problems.push({
      ...location(),
      message: "the URL carries a user name or password, which would be committed in plaintext",
      fix: "remove it from the URL; with remoteWrite.auth: basic promfleet gives each cluster its own credential",
    });
  return problems;
};

export const RUNTIME_LIMITS: Rule[] = [retentionInRange, storageAboveZero, intervalsInRange, remoteWriteUrl];
