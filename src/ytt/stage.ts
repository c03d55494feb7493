import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterSpec, FleetSpec, Role } from "../fleet/spec.js";

/** Where the fleet repository keeps the ytt files promfleet layers, in this order. */
export const OVERLAY_DIRS = { base: "overlays/base", roles: "overlays/roles" } as const;

const templatesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "templates", "ytt");
const YTT_SOURCE = /\.(ya?ml|star)$/;

const LIBRARY_SCHEMA = `#@data/values-schema
---
#@schema/type any=True
cluster: null
`;

const ROOT_SCHEMA = `#@data/values-schema
---
#@schema/type any=True
fleet: null
#@schema/type any=True
clusters: []
`;

/**
 * A temporary ytt workspace: promfleet's root template plus one ytt library per distinct overlay
 * stack. Clusters that share a role and overlays share a library; a library scopes overlays to the
 * documents it evaluates, which is what keeps a per-cluster overlay on its own cluster.
 */
export interface Stage {
  dir: string;
  /** Library name each cluster is evaluated with. */
  libraryOf: Map<string, string>;
  /** Rewrites staged file paths in ytt's messages back to the user's files. */
  renamePaths: (message: string) => string;
  cleanup: () => Promise<void>;
}

export async function stageFleet(spec: FleetSpec): Promise<Stage> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-ytt-"));
  const renames = new Map<string, string>();
  const libraryOf = new Map<string, string>();
  const staged = new Set<string>();
  try {
    for (const file of await readdir(templatesDir)) await copyFile(path.join(templatesDir, file), path.join(dir, file));
    await writeFile(path.join(dir, "values-schema.yaml"), ROOT_SCHEMA);
    const roleFiles = await listRoleSources(spec.root);
    for (const cluster of spec.clusters) {
      const stack = overlayStack(spec, cluster, roleFiles);
      const name = libraryName(cluster, stack);
      libraryOf.set(cluster.name, name);
      if (staged.has(name)) continue;
      staged.add(name);
      await stageLibrary(spec.root, path.join(dir, "_ytt_lib", name), stack, renames, name);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    libraryOf,
    renamePaths: (message) => renamePaths(message, renames),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The user's files for one cluster, in the documented order: base, role, fleet-wide, per-cluster. */
function overlayStack(spec: FleetSpec, cluster: ClusterSpec, roleFiles: RoleSources): string[] {
  return [...roleFiles.base, ...roleFiles[cluster.role], ...spec.overlays, ...cluster.overlays];
}

function libraryName(cluster: ClusterSpec, stack: string[]): string {
  if (cluster.overlays.length === 0) return cluster.role;
  const digest = createHash("sha256").update(stack.join("\n")).digest("hex").slice(0, 12);
  return `${cluster.role}-${digest}`;
}

type RoleSources = { base: string[] } & Record<Role, string[]>;

async function listRoleSources(root: string): Promise<RoleSources> {
  const list = async (rel: string) =>
    (await readdir(path.join(root, rel)).catch(() => []))
      .filter((f) => YTT_SOURCE.test(f))
      .sort()
      .map((f) => `${rel}/${f}`);
  return {
    base: await list(OVERLAY_DIRS.base),
    aggregator: await list(`${OVERLAY_DIRS.roles}/aggregator`),
    agent: await list(`${OVERLAY_DIRS.roles}/agent`),
  };
}

/** ytt applies a library's overlays in file order; numbered names make that order the stack's. */
async function stageLibrary(
  root: string,
  libDir: string,
  stack: string[],
  renames: Map<string, string>,
  name: string,
): Promise<void> {
  await mkdir(libDir, { recursive: true });
  await writeFile(path.join(libDir, "000-values-schema.yaml"), LIBRARY_SCHEMA);
  for (const [i, source] of stack.entries()) {
    const stagedName = `${String(i + 1).padStart(3, "0")}-${path.basename(source)}`;
    await copyFile(path.join(root, source), path.join(libDir, stagedName));
    renames.set(`_ytt_lib/${name}/${stagedName}`, source);
    renames.set(`${name}/${stagedName}`, source);
  }
}

function renamePaths(message: string, renames: Map<string, string>): string {
  const keys = [...renames.keys()].sort((a, b) => b.length - a.length);
  return keys.reduce((m, k) => m.split(k).join(renames.get(k) as string), message);
}
