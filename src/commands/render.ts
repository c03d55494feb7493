/**
 * The render command: render every cluster and write clusters/ (or, with --check / --dry-run, only
 * compare).
 */
import { loadFleet } from "../fleet/load.js";
import { renameSync } from "node:fs";
import { withRepoLock } from "../layout/repo-lock.js";
import { applyPlan, recoverInterrupted, StagedFiles } from "../layout/transaction.js";
import { hasChanges, planTree, scanClusterTree, type DesiredContent, type Plan } from "../layout/tree.js";
import { readRenderInputs, renderChanged, type ClusterRender } from "../render/render.js";
import { findYtt } from "../ytt/ytt.js";
import { ExitCode } from "../util/errors.js";
import type { Output } from "../util/output.js";

export interface RenderOptions {
  dir: string;
  fleet: string;
  check?: boolean;
  dryRun?: boolean;
}

export interface RenderSummary {
  clusters: number;
  /** Clusters run through ytt; the others' render records showed their folders up to date. */
  rendered: string[];
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
  warnings: string[];
  written: boolean;
}

/** promfleet render: fleet spec -> ytt -> clusters/<name>/. Returns the exit code. */
export async function renderCommand(o: RenderOptions, out: Output): Promise<number> {
  const { summary, plan } = await renderTree(o, out);
  out.result(summary, describe(plan, o));
  return o.check && hasChanges(plan) ? ExitCode.checkFailed : ExitCode.ok;
}

/**
 * Renders and (unless checking) writes the tree, holding the repository's lock when it writes; reports
 * progress and warnings through `out`.
 */
export async function renderTree(
  o: RenderOptions,
  out: Output,
): Promise<{ summary: RenderSummary; plan: Plan<DesiredContent> }> {
  const readOnly = Boolean(o.check || o.dryRun);
  return readOnly ? render(o, out, true) : withRepoLock(o.dir, "render", () => render(o, out, false));
}

async function render(
  o: RenderOptions,
  out: Output,
  readOnly: boolean,
): Promise<{ summary: RenderSummary; plan: Plan<DesiredContent> }> {
  if (!readOnly && (await recoverInterrupted(o.dir)))
    out.info("finished the file moves of an interrupted render");
  // git lists clusters/ and ytt reports its version in their own processes while the spec loads
  const scanning = scanClusterTree(o.dir);
  const ytt = findYtt();
  ytt.catch(() => undefined); // awaited (and its error reported) by renderChanged, after the spec's errors
  const spec = await loadFleet(o.dir, o.fleet);
  out.info(`rendering ${spec.clusters.length} cluster(s) from ${spec.file} (ytt only where inputs changed)`);
  const tree = await scanning;
  const inputs = await readRenderInputs(spec, tree);
  // files are staged as their chunk is finished, so writing them overlaps the later chunks' ytt runs
  const staged = readOnly ? undefined : new StagedFiles(o.dir, tree);
  try {
    const stage = staged && ((r: ClusterRender) => staged.offer(r.files, r.blobIds));
    const { fleet, rendered, unchanged } = await renderChanged(spec, inputs, tree, ytt, undefined, stage);
    fleet.warnings.forEach((w) => out.warn(w));
    const desired = new Map<string, DesiredContent>([...fleet.files, ...fleet.staged]);
    const plan = await planTree(o.dir, desired, tree, unchanged);
    const write = !readOnly && hasChanges(plan);
    if (write) await applyPlan(o.dir, plan, renameSync, staged);
    return { summary: summarize(spec.clusters.length, rendered, plan, fleet.warnings, write), plan };
  } finally {
    staged?.discard();
  }
}

function summarize(
  clusters: number,
  rendered: string[],
  plan: Plan<DesiredContent>,
  warnings: string[],
  written: boolean,
): RenderSummary {
  return {
    clusters,
    rendered,
    created: plan.create,
    updated: plan.update,
    removed: plan.remove,
    unchanged: plan.unchanged,
    warnings,
    written,
  };
}

function describe(plan: Plan<DesiredContent>, o: RenderOptions): string {
  const lines = [
    ...plan.create.map((f) => `+ ${f}`),
    ...plan.update.map((f) => `~ ${f}`),
    ...plan.remove.map((f) => `- ${f}`),
  ];
  if (lines.length === 0) return `up to date (${plan.unchanged} files)`;
  const verb = o.check
    ? "out of date; run 'promfleet render'"
    : o.dryRun
      ? "would change (dry run, nothing written)"
      : "written";
  return `${lines.join("\n")}\n${lines.length} file(s) ${verb}`;
}
