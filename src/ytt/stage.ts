/** Stages the fleet's ytt files and one generated root template that applies each cluster's overlay stack. */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";

/** The fleet repository's own ytt files: base values and one overlay per role. */
export const BASE_VALUES = "overlays/base/values.yaml";
export const roleOverlay = (role: string) => `overlays/roles/${role}.yaml`;

const ROOT_SCHEMA = `#@data/values-schema
---
#@schema/type any=True
clusters: []
`;

/**
 * A temporary ytt workspace holding the user's files as ytt modules and a generated root template that,
 * for each cluster, emits a marker document naming it, then calls `values(cluster)` from the base file
 * and applies each overlay's `overlay_for(cluster)` in the documented order (role, fleet-wide,
 * per-cluster) with overlay.apply. One evaluation renders every cluster, and a per-cluster overlay only
 * ever touches its own cluster. (A ytt library per cluster would scope plain overlay documents the
 * same way but costs about eight times as much per cluster.)
 */
export interface Stage {
  dir: string;
  /** Overlay stack (key into the root template's `stacks`) of each cluster. */
  stackOf: Map<string, string>;
  /** Rewrites staged file paths in ytt's messages back to the user's files. */
  renamePaths: (message: string) => string;
  cleanup: () => Promise<void>;
}

export async function stageFleet(spec: FleetSpec): Promise<Stage> {
  const sources = new Map<string, string>(); // user path -> staged module path
  const stacks = new Map<string, string[]>(); // stack key -> user overlay paths
  const stackOf = new Map<string, string>();
  for (const cluster of spec.clusters) {
    const overlays = overlayStack(spec, cluster);
    const key = overlays.join("\n");
    if (!stacks.has(key)) stacks.set(key, overlays);
    stackOf.set(cluster.name, `s${[...stacks.keys()].indexOf(key)}`);
  }
  for (const file of [BASE_VALUES, ...new Set([...stacks.values()].flat())])
    sources.set(
      file,
      `u/${String(sources.size).padStart(3, "0")}-${path.basename(file, path.extname(file))}.lib.yaml`,
    );
  await checkSources(spec.root, sources);

  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-"));
  try {
    await mkdir(path.join(dir, "u"));
    for (const [source, staged] of sources)
      await copyFile(path.join(spec.root, source), path.join(dir, staged));
    await writeFile(path.join(dir, "values-schema.yaml"), ROOT_SCHEMA);
    await writeFile(path.join(dir, "root.yaml"), rootTemplate(sources, [...stacks.values()]));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const renames = new Map([...sources].map(([source, staged]) => [staged, source]));
  return {
    dir,
    stackOf,
    renamePaths: (message) =>
      explainRoot([...renames].reduce((m, [staged, source]) => m.split(staged).join(source), message)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * An error whose innermost location is the generated root template is about what a user's function
 * returned, not about a line they wrote: say so.
 */
function explainRoot(message: string): string {
  const innermost = /^\s+(\S+):\d+ \|/m.exec(message)?.[1];
  if (innermost !== "root.yaml") return message;
  return `${message}\n(root.yaml is promfleet's generated template: it calls values(cluster) from ${BASE_VALUES}, then overlay.apply with each overlay_for(cluster) in order; what one of them returned cannot be merged, such as nothing, or a list where a map is expected)`;
}

/** Every file that makes a cluster's values, in the order applied: the base values, then its overlays. */
export function appliedFiles(spec: FleetSpec, cluster: ClusterSpec): string[] {
  return [BASE_VALUES, ...overlayStack(spec, cluster)];
}

/**
 * The documented order: role overlay, fleet-wide overlays, the fleet-wide overlays a rollout has staged
 * on this cluster (so the cluster renders as it will once they are fleet-wide), the cluster's own overlays.
 */
function overlayStack(spec: FleetSpec, cluster: ClusterSpec): string[] {
  return [roleOverlay(cluster.role), ...spec.overlays, ...cluster.stagedOverlays, ...cluster.overlays];
}

/** Each file must exist and define the function promfleet calls; say which and how to fix it. */
async function checkSources(root: string, sources: Map<string, string>): Promise<void> {
  const problems: Problem[] = [];
  for (const source of sources.keys()) {
    const fn = source === BASE_VALUES ? "values" : "overlay_for";
    const text = await readFile(path.join(root, source), "utf8").catch(() => undefined);
    if (text === undefined)
      problems.push({
        file: source,
        message: "file not found",
        fix: "restore it (promfleet init writes the defaults)",
      });
    else if (!new RegExp(`^#@\\s*def\\s+${fn}\\s*\\(`, "m").test(text))
      problems.push({
        file: source,
        message: `does not define ${fn}(cluster)`,
        fix: `wrap the YAML in "#@ def ${fn}(cluster):" ... "#@ end" (README: Overlays)`,
      });
  }
  if (problems.length > 0)
    throw new PromfleetError("overlays are not usable; nothing was written", ExitCode.badInput, problems);
}

function rootTemplate(sources: Map<string, string>, stacks: string[][]): string {
  const alias = new Map([...sources.keys()].map((s, i) => [s, `m${i}`]));
  const loads = [...sources].map(([source, staged]) => {
    const fn = source === BASE_VALUES ? "values" : "overlay_for";
    return `#@ load("${staged}", ${alias.get(source)}="${fn}")`;
  });
  const stackList = stacks.map((files, i) => `"s${i}": [${files.map((f) => alias.get(f)).join(", ")}]`);
  return `#! Generated by promfleet for one render; see src/ytt/stage.ts.
#@ load("@ytt:data", "data")
#@ load("@ytt:overlay", "overlay")
${loads.join("\n")}
#@ stacks = {${stackList.join(", ")}}
#@ for c in data.values.clusters:
#@ cluster = c.cluster
---
promfleet.dev/cluster: #@ cluster.name
--- #@ overlay.apply(${alias.get(BASE_VALUES)}(cluster), *[o(cluster) for o in stacks[c.stack]])
#@ end
`;
}
