/** Where a rollout stands, from the spec alone: the wave reached, and every cluster's wave and version. */
import type { FleetSpec } from "../fleet/spec.js";
import { isHeld } from "./edit.js";
import { describeTarget, rolloutState, wavesOf, type RolloutTarget } from "./plan.js";

export interface ClusterStatus {
  name: string;
  version: string;
  stagedOverlays: string[];
  /** Pinned to a version the rollout does not touch. */
  held: boolean;
}

export interface WaveStatus {
  name: string;
  /** idle: no rollout under way; done: merged; next: the one whose pull request comes next. */
  state: "idle" | "done" | "next" | "pending";
  clusters: ClusterStatus[];
}

export interface RolloutStatus {
  rollout: { target: RolloutTarget; wave: string; reached: number; waves: number } | null;
  fleetVersion: string;
  waves: WaveStatus[];
}

export function rolloutStatus(spec: FleetSpec): RolloutStatus {
  const state = rolloutState(spec);
  const byName = new Map(spec.clusters.map((c) => [c.name, c]));
  const waveState = (i: number): WaveStatus["state"] => {
    if (!state) return "idle";
    if (i <= state.reached) return "done";
    return i === state.reached + 1 ? "next" : "pending";
  };
  const waves = wavesOf(spec).map((w, i) => ({
    name: w.name,
    state: waveState(i),
    clusters: w.clusters.map((name) => ({
      name,
      version: byName.get(name)?.packageVersion ?? spec.package.version,
      stagedOverlays: byName.get(name)?.stagedOverlays ?? [],
      held: state ? isHeld(spec, name, state.target) : false,
    })),
  }));
  const rollout = state && {
    target: state.target,
    wave: state.waves[state.reached]?.name ?? "",
    reached: state.reached + 1,
    waves: state.waves.length,
  };
  return { rollout: rollout ?? null, fleetVersion: spec.package.version, waves };
}

export function statusText(status: RolloutStatus): string {
  const r = status.rollout;
  const head = r
    ? `rollout of ${describeTarget(r.target)}: wave ${r.reached}/${r.waves} (${r.wave}) merged`
    : `no rollout under way; the fleet installs package ${status.fleetVersion}`;
  const row = (cells: string[]) =>
    [cells[0]?.padEnd(16), cells[1]?.padEnd(8), cells[2]?.padEnd(24), cells[3], cells[4]].join(" ").trimEnd();
  const lines = status.waves.flatMap((w) =>
    w.clusters.map((c) =>
      row([w.name, w.state, c.name, c.version + (c.held ? " (held)" : ""), c.stagedOverlays.join(" ")]),
    ),
  );
  return [head, row(["WAVE", "STATE", "CLUSTER", "VERSION", "STAGED"]), ...lines].join("\n");
}
