/** What a rollout's pull requests and its failure comment say. Names from the spec stay text (inlineCode). */
import type { FleetSpec } from "../fleet/spec.js";
import { inlineCode } from "../util/markdown.js";
import type { ClusterHealth } from "../verify/index.js";
import { describeTarget, type RolloutState, type RolloutStep, type RolloutTarget } from "./plan.js";

export const ROLLOUT_MARKER = "<!-- promfleet:rollout -->";
/** The one comment rollout continue keeps on a wave's pull request when the wave fails verify. */
export const VERIFY_MARKER = "<!-- promfleet:rollout-verify -->";
/** A body lists at most this many clusters (GitHub caps a body at 65,536 characters). */
const LISTED_CLUSTERS = 50;

export function stepTitle(target: RolloutTarget, step: RolloutStep, spec: FleetSpec): string {
  if (step.kind === "abort") return `promfleet: abort the rollout of ${describeTarget(target)}`;
  const of = `${step.index + 1}/${spec.waves.length}`;
  return `promfleet: roll out ${describeTarget(target)} to wave ${step.wave.name} (${of})`;
}

export function stepBody(spec: FleetSpec, target: RolloutTarget, step: RolloutStep): string {
  const what = inlineCode(describeTarget(target));
  if (step.kind === "abort") {
    const names = step.waves.flatMap((w) => w.clusters);
    return [
      ROLLOUT_MARKER,
      `Aborts the rollout of ${what}: the waves ${step.waves.map((w) => inlineCode(w.name)).join(", ")} return to ${inlineCode(previous(spec, target))}, and the spec's ${inlineCode("rollout:")} block goes.`,
      "",
      clusterList(names),
      "",
      "After the merge every cluster renders exactly as before the rollout started.",
      "",
    ].join("\n");
  }
  const next = spec.waves[step.index + 1]?.name;
  return [
    ROLLOUT_MARKER,
    `Rolls ${what} out to wave ${inlineCode(step.wave.name)} (${step.index + 1} of ${spec.waves.length}), ${step.wave.clusters.length} clusters:`,
    "",
    clusterList(step.wave.clusters, (name) => currentVersion(spec, name)),
    "",
    step.last
      ? `This is the last wave: ${what} becomes the fleet's own, and the per-cluster pins and staged overlays of the rollout go.`
      : `When this merges, the on-merge workflow runs ${inlineCode("promfleet rollout continue")}: it waits until ${inlineCode("promfleet verify")} says every cluster of the waves so far is receiving, then opens the pull request for wave ${inlineCode(next ?? "")}; if verify fails it stops and comments here.`,
    "",
    `${inlineCode("promfleet rollout abort")} opens the pull request that returns the started waves to ${inlineCode(previous(spec, target))}.`,
    "",
  ].join("\n");
}

export function failureComment(state: RolloutState, wave: string, failing: ClusterHealth[]): string {
  const rows = failing.map((c) => {
    const age =
      c.lastSampleAgeSeconds === undefined ? "no sample" : `${Math.round(c.lastSampleAgeSeconds)}s ago`;
    return `| ${inlineCode(c.cluster)} | ${c.status} | ${age} |`;
  });
  return [
    VERIFY_MARKER,
    `**The rollout of ${inlineCode(describeTarget(state.target))} stopped after wave ${inlineCode(wave)}**: verify found ${failing.length} cluster(s) not receiving at the aggregator, so the next wave's pull request was not opened.`,
    "",
    "| cluster | status | newest sample |",
    "| --- | --- | --- |",
    ...rows,
    "",
    `Fix the clusters and re-run the on-merge workflow (or ${inlineCode("promfleet rollout continue")}), or open the abort with ${inlineCode("promfleet rollout abort")}.`,
    "",
  ].join("\n");
}

function currentVersion(spec: FleetSpec, name: string): string {
  const c = spec.clusters.find((x) => x.name === name);
  return c ? `now ${c.packageVersion ?? spec.package.version}` : "";
}

function previous(spec: FleetSpec, target: RolloutTarget): string {
  return target.kind === "packageVersion" ? `package ${spec.package.version}` : `no overlay ${target.file}`;
}

function clusterList(names: string[], note: (name: string) => string = () => ""): string {
  const shown = names.slice(0, LISTED_CLUSTERS).map((n) => `- ${inlineCode(n)} ${note(n)}`.trimEnd());
  const more = names.length - shown.length;
  return [...shown, ...(more > 0 ? [`- … and ${more} more`] : [])].join("\n");
}
