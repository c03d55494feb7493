/**
 * Which clusters each wave of `waves:` selects, and every way a list of waves can be wrong: a name that is
 * no cluster, a wave that selects nothing, a cluster two waves select, a cluster no wave selects, an
 * aggregator whose place in the order is implicit. Works on the raw spec (for the spec's rules) and on the
 * completed one (for promfleet rollout): both have names, roles, labels and waves of this shape.
 */

/** `*` alone: every cluster that no other wave selects. */
export const REST = "*";

export interface WaveInput {
  name: string;
  clusters?: string[];
  labels?: Record<string, unknown>;
}

export interface ClusterInput {
  name: string;
  role: string;
  labels?: Record<string, unknown>;
}

export interface ResolvedWave {
  name: string;
  /** Cluster names, in the spec's order of clusters. */
  clusters: string[];
}

/** A problem with one wave (`wave` is its index) or one cluster (`cluster` is its index). */
export interface WaveProblem {
  wave?: number;
  cluster?: number;
  /** Under the wave: the field the problem is in. */
  field?: "name" | "clusters" | "labels";
  message: string;
  fix: string;
}

const isGlob = (pattern: string) => /[*?]/.test(pattern);

function globMatcher(pattern: string): RegExp {
  const body = pattern.replace(/[*?]/g, (c) => (c === "*" ? "[-a-z0-9]*" : "[-a-z0-9]"));
  return new RegExp(`^${body}$`);
}

/** The clusters one wave selects by itself (`*` not counted: it takes what is left at the end). */
function ownSelection(wave: WaveInput, clusters: ClusterInput[]): Set<string> {
  const patterns = (wave.clusters ?? []).filter((p) => p !== REST);
  const labels = Object.entries(wave.labels ?? {});
  const selected = new Set<string>();
  for (const c of clusters) {
    const byName = patterns.some((p) => (isGlob(p) ? globMatcher(p).test(c.name) : p === c.name));
    const byLabels = labels.length > 0 && labels.every(([k, v]) => String(c.labels?.[k]) === String(v));
    if (byName || byLabels) selected.add(c.name);
  }
  return selected;
}

/** The waves in order with the clusters each selects, and every problem with them. */
export function resolveWaves(
  waves: WaveInput[],
  clusters: ClusterInput[],
): { waves: ResolvedWave[]; problems: WaveProblem[] } {
  const unknown = unknownClusters(waves, clusters);
  const problems: WaveProblem[] = [...duplicateNames(waves), ...unknown, ...selectorless(waves)];
  const own = waves.map((w) => ownSelection(w, clusters));
  problems.push(...overlaps(waves, own, clusters));
  const restIndexes = waves.flatMap((w, i) => ((w.clusters ?? []).includes(REST) ? [i] : []));
  problems.push(...extraRests(waves, restIndexes));
  const taken = new Set(own.flatMap((s) => [...s]));
  const rest = clusters.filter((c) => !taken.has(c.name)).map((c) => c.name);
  const restWave = restIndexes[0];
  const resolved = waves.map((w, i) => {
    const names = new Set([...(own[i] ?? []), ...(i === restWave ? rest : [])]);
    return { name: w.name, clusters: clusters.filter((c) => names.has(c.name)).map((c) => c.name) };
  });
  // a wave naming an unknown cluster selects nothing because of it: one problem, not two
  const reported = new Set(unknown.map((p) => p.wave));
  const empty = emptyWaves(resolved, waves).filter((p) => !reported.has(p.wave));
  problems.push(...empty, ...unplaced(clusters, resolved, restWave));
  problems.push(...implicitAggregator(waves, clusters));
  return { waves: resolved, problems };
}

function duplicateNames(waves: WaveInput[]): WaveProblem[] {
  return waves.flatMap((w, i) => {
    const earlier = waves.findIndex((o) => o.name === w.name);
    return earlier < i
      ? [
          {
            wave: i,
            field: "name" as const,
            message: `wave name "${w.name}" is already used by waves[${earlier}]`,
            fix: "give every wave a unique name (rollout refers to waves by name)",
          },
        ]
      : [];
  });
}

function unknownClusters(waves: WaveInput[], clusters: ClusterInput[]): WaveProblem[] {
  const names = new Set(clusters.map((c) => c.name));
  return waves.flatMap((w, i) =>
    (w.clusters ?? [])
      .filter((p) => !isGlob(p) && !names.has(p))
      .map((p) => ({
        wave: i,
        field: "clusters" as const,
        message: `wave ${w.name} names cluster "${p}", which is not in the fleet`,
        fix: `correct the name (the fleet's clusters: ${[...names].join(", ")}), or remove it from the wave`,
      })),
  );
}

function hasSelector(w: WaveInput | undefined): boolean {
  return (w?.clusters ?? []).length > 0 || Object.keys(w?.labels ?? {}).length > 0;
}

function selectorless(waves: WaveInput[]): WaveProblem[] {
  return waves.flatMap((w, i) =>
    !hasSelector(w)
      ? [
          {
            wave: i,
            message: `wave ${w.name} has neither clusters nor labels`,
            fix: 'select clusters: by name, glob or "*" (clusters: [edge-1]), or by labels (labels: {tier: dev})',
          },
        ]
      : [],
  );
}

function overlaps(waves: WaveInput[], own: Set<string>[], clusters: ClusterInput[]): WaveProblem[] {
  return clusters.flatMap((c) => {
    const selecting = own.flatMap((s, i) => (s.has(c.name) ? [i] : []));
    if (selecting.length < 2) return [];
    const named = selecting.map((i) => waves[i]?.name).join(" and ");
    return [
      {
        wave: selecting[1],
        message: `cluster ${c.name} is selected by more than one wave (${named})`,
        fix: "narrow the waves' names, globs or labels so that each cluster is in exactly one wave",
      },
    ];
  });
}

function extraRests(waves: WaveInput[], restIndexes: number[]): WaveProblem[] {
  return restIndexes.slice(1).map((i) => ({
    wave: i,
    field: "clusters" as const,
    message: `wave ${waves[i]?.name} also selects "*", which waves[${restIndexes[0]}] already does`,
    fix: 'keep "*" (every cluster no other wave selects) in one wave only',
  }));
}

function emptyWaves(resolved: ResolvedWave[], waves: WaveInput[]): WaveProblem[] {
  return resolved.flatMap((w, i) =>
    w.clusters.length === 0 && hasSelector(waves[i])
      ? [
          {
            wave: i,
            message: `wave ${w.name} selects no cluster`,
            fix: "correct its globs or labels (a cluster's labels: are in its entry), or remove the wave",
          },
        ]
      : [],
  );
}

function unplaced(clusters: ClusterInput[], resolved: ResolvedWave[], restWave?: number): WaveProblem[] {
  if (restWave !== undefined) return [];
  const placed = new Set(resolved.flatMap((w) => w.clusters));
  return clusters.flatMap((c, i) =>
    placed.has(c.name)
      ? []
      : [
          {
            cluster: i,
            message: `cluster ${c.name} is in no wave, so a rollout would never reach it`,
            fix: 'add it to a wave by name, glob or labels, or end the waves with one that selects "*" (every cluster not yet in a wave)',
          },
        ],
  );
}

/** Every agent writes to the aggregator: when it changes is a decision, never a glob's side effect. */
function implicitAggregator(waves: WaveInput[], clusters: ClusterInput[]): WaveProblem[] {
  return clusters.flatMap((c, i) =>
    c.role === "aggregator" && !waves.some((w) => (w.clusters ?? []).includes(c.name))
      ? [
          {
            cluster: i,
            message: `the aggregator ${c.name} is not named in any wave; its place in the rollout must be explicit`,
            fix: `add ${c.name} by name to the wave it belongs to, e.g. first (agents then write to an upgraded aggregator) or last`,
          },
        ]
      : [],
  );
}
