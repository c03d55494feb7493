/**
 * Per-cluster input fingerprints: one sha256 over everything that determines a cluster's rendered files,
 * so that render can skip clusters whose inputs did not change (see src/layout/render-record.ts).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { PROMFLEET_VERSION } from "../util/version.js";
import { buildHash } from "../util/build-hash.js";
import { sha256Hex } from "../util/sha256.js";
import { appliedFiles } from "../ytt/stage.js";

/** What, besides the spec, a cluster's files are made from. */
export interface FingerprintSources {
  /** Files committed in the cluster's folder that its delivery lists (RenderInputs.committedManifests). */
  committedManifests: ReadonlyMap<string, readonly string[]>;
  yttVersion: string;
}

/**
 * Cluster name -> fingerprint of the named clusters (default: all). It covers the cluster's spec entry,
 * every fleet-level field (all but `clusters`), the content of each file applied to it (base, role,
 * fleet-wide and its own overlays), the manifests committed beside it, promfleet's and ytt's versions,
 * and for the aggregator with basic auth every cluster's credential (its web config lists them). The
 * cluster's data values (clusterDataValues) are made by promfleet's code from exactly these spec fields,
 * so they are covered without being computed here for every cluster.
 */
export async function fingerprints(
  spec: FleetSpec,
  sources: FingerprintSources,
  clusters: readonly ClusterSpec[] = spec.clusters,
): Promise<Map<string, string>> {
  const applied = new Map(clusters.map((c) => [c.name, appliedFiles(spec, c)]));
  const contents = await fileHashes(spec.root, new Set([...applied.values()].flat()));
  const fleet = sha256Hex(
    canonicalJson({
      promfleet: PROMFLEET_VERSION,
      build: buildHash(),
      ytt: sources.yttVersion,
      // waves and rollout only steer `promfleet rollout`: what a wave changes reaches the clusters
      // through their own entries (package pin, staged overlays); a wave's pull request must not
      // touch every cluster's record
      // The package version and the overlay lists count per cluster (below: its effective version and
      // the files applied to it), so the last wave, which moves pins and staged overlays fleet-wide,
      // leaves the records of clusters whose output stays the same alone.
      spec: {
        ...spec,
        root: undefined,
        clusters: undefined,
        waves: undefined,
        rollout: undefined,
        overlays: undefined,
        package: { ...spec.package, version: undefined },
      },
    }),
  );
  const listsCredentials = (c: ClusterSpec) => c.role === "aggregator" && spec.remoteWrite.auth === "basic";
  // every cluster's credential, only for the aggregator that lists them (a fingerprint of the agents
  // alone, as onboarding asks for, does not need it)
  const credentials = clusters.some(listsCredentials) ? credentialsHash(spec.clusters) : null;
  // Per cluster, JSON.stringify rather than canonicalJson (several times slower, and this runs for every
  // cluster on every render): the parts are positional and the objects' key order is the spec's own, so
  // the same spec gives the same text; reordering a cluster's keys costs that cluster one render.
  return new Map(
    clusters.map((c) => [
      c.name,
      sha256Hex(
        JSON.stringify([
          fleet,
          { ...c, packageVersion: undefined, stagedOverlays: undefined },
          c.packageVersion ?? spec.package.version,
          (applied.get(c.name) as string[]).map((f) => [f, contents.get(f)]),
          sources.committedManifests.get(c.name) ?? [],
          listsCredentials(c) ? credentials : null,
        ]),
      ),
    ]),
  );
}

/**
 * One hash over every cluster's credential. credentialOf builds its members in a fixed order, so
 * JSON.stringify's text is already the same for the same credentials; sorting keys (canonicalJson) for
 * 10,000 clusters cost a no-change render tens of milliseconds.
 */
function credentialsHash(clusters: readonly ClusterSpec[]): string {
  return sha256Hex(JSON.stringify(clusters.map(credentialOf)));
}

function credentialOf(c: ClusterSpec) {
  return {
    name: c.name,
    generation: c.credentialGeneration,
    hash: c.passwordHash ?? null,
    previous: c.previousPasswordHash ?? null,
  };
}

/** Repository path -> sha256 of its content; a file that cannot be read hashes as null (render reports it). */
async function fileHashes(root: string, files: Set<string>): Promise<Map<string, string | null>> {
  const entries = await Promise.all(
    [...files].map(async (f) => {
      const content = await readFile(path.join(root, f)).catch(() => undefined);
      return [f, content === undefined ? null : sha256Hex(content)] as const;
    }),
  );
  return new Map(entries);
}

/**
 * JSON with object keys sorted at every depth: the same data always gives the same text. Exactly
 * JSON.stringify's text with keys sorted (undefined properties left out, undefined in arrays as null),
 * written directly: a fingerprint per cluster makes this hot.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value) ?? "null";
}

function canonical(value: unknown): string | undefined {
  if (value === null) return "null";
  if (typeof value !== "object") return JSON.stringify(value);
  if (typeof (value as { toJSON?: unknown }).toJSON === "function")
    return canonical((value as { toJSON: () => unknown }).toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v) ?? "null").join(",")}]`;
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const members: string[] = [];
  for (const key of keys) {
    const text = canonical((value as Record<string, unknown>)[key]);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(",")}}`;
}
