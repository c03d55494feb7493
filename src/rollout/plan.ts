/**
 * A rollout as the spec records it, and the spec text of each of its steps. The state is the spec alone:
 * `rollout:` names the change and the last wave whose pull request was merged; the clusters of that wave
 * and the ones before it carry the change (a pinned version, a staged overlay). Every function here is
 * pure: text and spec in, text out.
 */
import { parseDocument } from "yaml";
import type { FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import {
  completeRollout,
  isHeld,
  moveClusters,
  recordWave,
  undoRollout,
  type RolloutTarget,
} from "./edit.js";
import { resolveWaves, type ResolvedWave } from "./waves.js";

export type { RolloutTarget } from "./edit.js";

/** One pull request of a rollout: a wave (the last one makes the change fleet-wide), or the abort. */
export type RolloutStep =
  | { kind: "wave"; index: number; wave: ResolvedWave; last: boolean }
  | { kind: "abort"; waves: ResolvedWave[] };

export interface RolloutState {
  target: RolloutTarget;
  waves: ResolvedWave[];
  /** Index of the last wave merged (`rollout.wave`). */
  reached: number;
}

/** The waves in order; a clear error when the spec has none (the spec's rules checked the rest). */
export function wavesOf(spec: FleetSpec): ResolvedWave[] {
  if (spec.waves.length === 0)
    throw new PromfleetError(
      `${spec.file} has no waves; a rollout goes through them in order`,
      ExitCode.badInput,
      [
        {
          file: spec.file,
          path: "waves",
          message: "no waves",
          fix: 'add waves, e.g. waves: [{name: canary, clusters: [edge-1]}, {name: rest, clusters: [hub, "*"]}]',
        },
      ],
    );
  return resolveWaves(spec.waves, spec.clusters).waves;
}

/** The rollout in progress on this spec, if any. */
export function rolloutState(spec: FleetSpec): RolloutState | undefined {
  if (!spec.rollout) return undefined;
  const waves = wavesOf(spec);
  const reached = waves.findIndex((w) => w.name === spec.rollout?.wave);
  return { target: spec.rollout.target, waves, reached };
}

export function describeTarget(target: RolloutTarget): string {
  return target.kind === "packageVersion" ? `package ${target.version}` : `overlay ${target.file}`;
}

/**
 * The branch of a wave's pull request (or, without a wave, of the abort's): one per rollout and step, so a
 * re-run finds the pull request an earlier run opened, and a later rollout never finds an earlier one's.
 */
export function branchOf(target: RolloutTarget, wave?: string): string {
  const what = target.kind === "packageVersion" ? target.version : target.file.replace(/\.ya?ml$/, "");
  const slug = what.replace(/[^A-Za-z0-9._-]+/g, "-");
  return wave === undefined ? `promfleet/rollout-abort-${slug}` : `promfleet/rollout-${slug}-${wave}`;
}

/** Why `rollout start` has nothing to do on this spec, or undefined when it starts a rollout. */
export function startBlocked(spec: FleetSpec, target: RolloutTarget): string | undefined {
  const running = spec.rollout;
  if (running && sameTarget(running.target, target))
    return `the rollout of ${describeTarget(target)} is already under way (wave ${running.wave} merged); promfleet rollout continue opens the next wave`;
  if (running)
    throw new PromfleetError(
      `${spec.file}: the rollout of ${describeTarget(running.target)} is still under way; one rollout at a time`,
      ExitCode.badInput,
      [
        {
          file: spec.file,
          path: "rollout",
          message: `rollout of ${describeTarget(running.target)} reached wave ${running.wave}`,
          fix: "let it finish (promfleet rollout continue) or open its abort (promfleet rollout abort) first",
        },
      ],
    );
  if (target.kind === "packageVersion" && spec.package.version === target.version)
    return `the fleet already installs package ${target.version}`;
  if (target.kind === "overlay" && spec.overlays.includes(target.file))
    return `${target.file} is already a fleet-wide overlay`;
  return undefined;
}

function sameTarget(a: RolloutTarget, b: RolloutTarget): boolean {
  return describeTarget(a) === describeTarget(b);
}

/** The step after the wave the spec reached (the first wave when none was). */
export function nextWave(waves: ResolvedWave[], reached: number): RolloutStep {
  const index = Math.min(reached + 1, waves.length - 1);
  return { kind: "wave", index, wave: waves[index] as ResolvedWave, last: index === waves.length - 1 };
}

/** The spec text after `step`, every comment kept. */
export function specAfter(text: string, spec: FleetSpec, target: RolloutTarget, step: RolloutStep): string {
  const doc = parseDocument(text);
  if (step.kind === "abort") undoRollout(doc, spec, target);
  else if (step.last) completeRollout(doc, spec, target);
  else {
    moveClusters(doc, spec, step.wave.clusters, target);
    recordWave(doc, target, step.wave.name);
  }
  return doc.toString();
}

/** The clusters that carry the rollout's change now: those of the waves merged so far, not held. */
export function startedClusters(spec: FleetSpec, state: RolloutState): string[] {
  return state.waves
    .slice(0, state.reached + 1)
    .flatMap((w) => w.clusters)
    .filter((name) => !isHeld(spec, name, state.target));
}
