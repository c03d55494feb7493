/** Stages the fleet's ytt files and one generated root template that applies each cluster's overlay stack. */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";

/** The fleet repository's own ytt files: base values and one overlay per role. */
export const BASE_VALUES = "overlays/base/values.yaml";
export const roleOverlay = (role: string) => `overlays/roles/${role}.yaml`;

/** The generated root template (a text template: see rootTemplate). */
const ROOT = "root.txt";
const ROOT_SCHEMA = `#@data/values-schema
---
#@schema/type any=True
clusters: []
`;

/**
 * A temporary ytt workspace: per chunk of clusters, a folder holding the user's files those clusters use
 * as ytt modules and a generated root template that, for each cluster, calls `values(cluster)` from the
 * base file and applies each overlay's `overlay_for(cluster)` in the documented order (role, fleet-wide,
 * per-cluster) with overlay.apply, and outputs the results by cluster name (chunkValues). One evaluation renders
 * every cluster of a chunk, and a per-cluster overlay only ever touches its own cluster. (A ytt library
 * per cluster would scope plain overlay documents the same way but costs about eight times as much per
 * cluster.) Clusters are grouped into chunks by overlay stack, so a chunk loads only the overlays its
 * own clusters use.
 */
export interface Stage {
  /** The workspace; each chunk's folder is inside it, and other files may go beside them. */
  dir: string;
  chunks: StagedChunk[];
  /** Rewrites staged file paths in ytt's messages back to the user's files. */
  renamePaths: (message: string) => string;
  cleanup: () => Promise<void>;
}

/** One ytt evaluation: the folder to pass with -f, and the clusters it renders. */
export interface StagedChunk {
  dir: string;
  clusters: ClusterSpec[];
  /** Overlay stack (key into the root template's `stacks`) of each of the chunk's clusters. */
  stackOf: Map<string, string>;
}

export async function stageFleet(
  spec: FleetSpec,
  clusters: readonly ClusterSpec[] = spec.clusters,
  chunkSizes: readonly number[] = [Infinity],
): Promise<Stage> {
  const { stacks, stackOf } = overlayStacks(spec, clusters);
  const sources = new Map<string, string>(); // user path -> staged module path
  for (const file of [BASE_VALUES, ...new Set([...stacks.values()].flat())])
    sources.set(
      file,
      `u/${String(sources.size).padStart(3, "0")}-${path.basename(file, path.extname(file))}.lib.yaml`,
    );
  await checkSources(spec.root, sources);

  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const chunks: StagedChunk[] = [];
  try {
    for (const [i, members] of chunksByStack(clusters, stackOf, chunkSizes).entries()) {
      const chunkDir = path.join(dir, `c${i}`);
      const used = new Set(members.map((c) => stackOf.get(c.name) as string));
      const chunkStacks = new Map([...stacks].filter(([key]) => used.has(key)));
      const files = [BASE_VALUES, ...new Set([...chunkStacks.values()].flat())];
      const chunkSources = new Map(files.map((file) => [file, sources.get(file) as string]));
      await mkdir(path.join(chunkDir, "u"), { recursive: true });
      for (const [source, staged] of chunkSources)
        await copyFile(path.join(spec.root, source), path.join(chunkDir, staged));
      await writeFile(path.join(chunkDir, "values-schema.yaml"), ROOT_SCHEMA);
      await writeFile(path.join(chunkDir, DOCUMENT_LIB), DOCUMENT_TEMPLATE);
      await writeFile(path.join(chunkDir, ROOT), rootTemplate(chunkSources, chunkStacks));
      chunks.push({
        dir: chunkDir,
        clusters: members,
        stackOf: new Map(members.map((c) => [c.name, stackOf.get(c.name) as string])),
      });
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  const renames = new Map([...sources].map(([source, staged]) => [staged, source]));
  return {
    dir,
    chunks,
    renamePaths: (message) =>
      explainRoot([...renames].reduce((m, [staged, source]) => m.split(staged).join(source), message)),
    cleanup,
  };
}

/** Stack key ("s0", "s1", ...) -> user overlay paths, and each cluster's stack key. */
function overlayStacks(spec: FleetSpec, clusters: readonly ClusterSpec[]) {
  const keys = new Map<string, string>(); // overlay paths, one per line -> stack key
  const stacks = new Map<string, string[]>();
  const stackOf = new Map<string, string>();
  for (const cluster of clusters) {
    const overlays = overlayStack(spec, cluster);
    const id = overlays.join("\n");
    let key = keys.get(id);
    if (key === undefined) {
      keys.set(id, (key = `s${keys.size}`));
      stacks.set(key, overlays);
    }
    stackOf.set(cluster.name, key);
  }
  return { stacks, stackOf };
}

/**
 * Clusters of the same stack next to each other (stacks in order of first use), cut into chunks of
 * `sizes[0]`, `sizes[1]`, ... clusters, the last size repeating.
 */
function chunksByStack(
  clusters: readonly ClusterSpec[],
  stackOf: Map<string, string>,
  sizes: readonly number[],
): ClusterSpec[][] {
  const byStack = new Map<string, ClusterSpec[]>();
  for (const c of clusters) {
    const key = stackOf.get(c.name) as string;
    const members = byStack.get(key);
    if (members) members.push(c);
    else byStack.set(key, [c]);
  }
  const ordered = [...byStack.values()].flat();
  const chunks: ClusterSpec[][] = [];
  for (let start = 0; start < ordered.length;) {
    const size = sizes[Math.min(chunks.length, sizes.length - 1)] as number;
    chunks.push(ordered.slice(start, start + size));
    start += size;
  }
  return chunks;
}

/**
 * An error whose innermost location is the generated root template is about what a user's function
 * returned, not about a line they wrote: say so.
 */
function explainRoot(message: string): string {
  const innermost = /^\s+(\S+):\d+ \|/m.exec(message)?.[1];
  if (innermost !== ROOT && innermost !== DOCUMENT_LIB) return message;
  return `${message}\n(${innermost} is promfleet's generated template: it calls values(cluster) from ${BASE_VALUES}, then overlay.apply with each overlay_for(cluster) in order; what one of them returned cannot be merged, such as nothing, or a list where a map is expected)`;
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

/**
 * ytt prints every YAML template's output as YAML, even with --output json (a fifth of its work per
 * cluster here); a text template's output it passes through as it is (`--bulk-out`). So the root is a
 * text template, and only the check that a value is a valid document stays YAML (DOCUMENT_LIB).
 */
function rootTemplate(sources: Map<string, string>, stacks: Map<string, string[]>): string {
  const alias = new Map([...sources.keys()].map((s, i) => [s, `m${i}`]));
  const loads = [...sources].map(([source, staged]) => {
    const fn = source === BASE_VALUES ? "values" : "overlay_for";
    return `(@ load("${staged}", ${alias.get(source)}="${fn}") -@)`;
  });
  const stackList = [...stacks].map(
    ([key, files]) => `"${key}": [${files.map((f) => alias.get(f)).join(", ")}]`,
  );
  return `(@ load("@ytt:data", "data") -@)
(@ load("@ytt:json", "json") -@)
(@ load("@ytt:overlay", "overlay") -@)
(@ load("${DOCUMENT_LIB}", "document") -@)
${loads.join("\n")}
(@ stacks = {${stackList.join(", ")}} -@)
(@ def rendered(c):
  cluster = c.cluster
  return json.encode([cluster.name, document(overlay.apply(${alias.get(BASE_VALUES)}(cluster), *[o(cluster) for o in stacks[c.stack]]))[0]])
end -@)
(@= "[" + ",".join([rendered(c) for c in data.values.clusters]) + "]" -@)
`;
}

/**
 * document(v)[0] is v once ytt has accepted it as a document's value: the same check, and the same
 * message, as when each cluster was an output document.
 */
const DOCUMENT_LIB = "document.lib.yaml";
const DOCUMENT_TEMPLATE = `#! Generated by promfleet for one render; see src/ytt/stage.ts.
#@ def document(value):
--- #@ value
#@ end
`;

/** The root template's output among a chunk's output files (runYttBulk): a JSON list of [name, values]. */
export function chunkOutput(files: Map<string, string>): string {
  const root = files.get(ROOT);
  if (root === undefined) throw new Error(`ytt's output has no ${ROOT}: ${[...files.keys()].join(", ")}`);
  return root;
}

/** Cluster name -> its values, from the root template's output. */
export function chunkValues(output: string): Map<string, unknown> {
  return new Map(JSON.parse(output) as [string, unknown][]);
}
