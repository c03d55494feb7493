/**
 * Reading clusters/ and planning what a render changes in it (create, update, remove; promfleet's files
 * only).
 */
import { lstatSync, readdirSync, readFileSync, type Dirent, type Stats } from "node:fs";
import path from "node:path";
import { gitBlobId, listClustersInGit, type GitListing } from "./git-index.js";
import { CLUSTERS_DIR, GENERATED_MARKER } from "./names.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";

/**
 * A file staged already (StagedFiles.offer): its git blob id stands for its text, which the caller need
 * not keep (a large fleet's texts are most of a full render's memory).
 */
export interface StagedContent {
  readonly blobId: string;
}

/** What a file must hold: its text, or, once staged, its blob id. */
export type DesiredContent = string | StagedContent;

export interface Plan<C extends DesiredContent = string> {
  create: string[];
  update: string[];
  remove: string[];
  unchanged: number;
  /** Desired content of every file to create or update. */
  contents: Map<string, C>;
}

export function hasChanges(plan: Plan<DesiredContent>): boolean {
  return plan.create.length + plan.update.length + plan.remove.length > 0;
}

/**
 * Every file under clusters/ with its content, in path order. Synchronous on purpose: for thousands
 * of small files, promise-based reads cost several times more CPU (a thread-pool round trip per open,
 * stat, read and close) than the reads themselves, and a CLI has nothing else to do meanwhile.
 */
export function readClusterTree(root: string): Map<string, string> {
  // paths joined by hand below: `rel` is built from directory entries, and path.join per file shows in
  // profiles of a 10,000-cluster tree
  const base = path.resolve(root);
  const files = filesUnder(base, CLUSTERS_DIR).sort();
  return new Map(files.map((rel) => [rel, readFileSync(`${base}/${rel}`, "utf8")]));
}

/** readClusterTree for the named clusters' folders only: what a change that touches only them reads. */
export function readClusterFolders(root: string, clusters: Iterable<string>): Map<string, string> {
  const base = path.resolve(root);
  const files = [...clusters].flatMap((c) => filesUnder(base, `${CLUSTERS_DIR}/${c}`)).sort();
  return new Map(files.map((rel) => [rel, readFileSync(`${base}/${rel}`, "utf8")]));
}

/**
 * The files under clusters/, each read only when asked for: what render compares its records with.
 * Paths are repository-relative.
 */
export interface ClusterTree {
  /** Every regular file under clusters/, in path order. */
  readonly paths: readonly string[];
  /** The file's git blob id: git's, when git vouches the file is its index entry, else from its content. */
  blobId(rel: string): string;
  /** The file's blob id when git vouches for it (known without reading the file), else undefined. */
  vouchedBlobId(rel: string): string | undefined;
  /** The file's content (read on first use, then kept). */
  content(rel: string): string;
}

/** A tree whose contents are all in hand (readClusterTree's, or a test's). */
export function treeOfFiles(files: ReadonlyMap<string, string>): ClusterTree {
  return {
    paths: [...files.keys()].sort(),
    blobId: (rel) => gitBlobId(files.get(rel) ?? ""),
    vouchedBlobId: () => undefined,
    content: (rel) => files.get(rel) ?? "",
  };
}

/**
 * clusters/ as it is on disk, reading no file yet. In a git work tree, git lists the files and vouches
 * for those that are exactly their index entry (their blob ids come from the index, so a clean tree
 * of thousands of files is never read); every file it is not sure of, and the whole tree outside git,
 * is found by walking the folders and read from disk when asked for.
 */
export async function scanClusterTree(root: string): Promise<ClusterTree> {
  const base = path.resolve(root);
  const listing = await listClustersInGit(base);
  return new DiskTree(
    base,
    listing ? listedPaths(base, listing) : filesUnder(base, CLUSTERS_DIR),
    listing?.vouched,
  );
}

/** The regular files of a git listing: those git vouches for, and its other paths as the disk has them. */
function listedPaths(base: string, listing: GitListing): string[] {
  const paths = [...listing.vouched.keys()];
  if (listing.unsure.length === 0) return paths.sort();
  for (const rel of listing.unsure) {
    // a nested repository is listed as its folder ("dir/"); a listed path may be gone or a symlink
    const stats = lstatOrUndefined(`${base}/${rel}`);
    if (stats === "unreadable" || stats?.isFile()) paths.push(rel);
    else if (stats?.isDirectory()) paths.push(...filesUnder(base, rel.replace(/\/$/, "")));
  }
  return [...new Set(paths)].sort();
}

/** A path's lstat; "unreadable" when it cannot be looked at (reading it reports why). */
function lstatOrUndefined(file: string): Stats | "unreadable" | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return "unreadable";
  }
}

class DiskTree implements ClusterTree {
  private readonly contents = new Map<string, string>();

  constructor(
    private readonly base: string,
    readonly paths: readonly string[],
    private readonly vouched: ReadonlyMap<string, string> = new Map(),
  ) {}

  blobId(rel: string): string {
    return this.vouched.get(rel) ?? gitBlobId(this.content(rel));
  }

  vouchedBlobId(rel: string): string | undefined {
    return this.vouched.get(rel);
  }

  content(rel: string): string {
    let content = this.contents.get(rel);
    if (content === undefined)
      this.contents.set(rel, (content = readFileSync(`${this.base}/${rel}`, "utf8")));
    return content;
  }
}

const isManaged = (content: string) => content.startsWith(GENERATED_MARKER);

/**
 * The regular files under `rel` (a folder relative to the absolute `root`), as `rel/<path>` with "/"
 * between names; none when it is missing. Symbolic links are neither followed nor listed.
 */
export function filesUnder(root: string, rel: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(`${root}/${rel}`, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) return filesUnder(root, child);
    return e.isFile() ? [child] : [];
  });
}

/**
 * Compares the rendered files with the tree (`current`: the tree as readClusterTree or scanClusterTree
 * read it, when the caller read it already); refuses to overwrite a file promfleet did not write.
 * `unchanged` names promfleet's files known to be as they must stay (clusters whose render record holds):
 * they are neither compared nor removed.
 */
export async function planTree<C extends DesiredContent = string>(
  root: string,
  desired: ReadonlyMap<string, C>,
  current: ClusterTree | ReadonlyMap<string, string> = readClusterTree(root),
  unchanged: ReadonlySet<string> = new Set(),
): Promise<Plan<C>> {
  const tree = current instanceof Map ? treeOfFiles(current) : (current as ClusterTree);
  const all = new Set(tree.paths);
  const managed = (rel: string) => all.has(rel) && isManaged(tree.content(rel));
  const holds = (rel: string, content: C) =>
    typeof content === "string" ? tree.content(rel) === content : tree.blobId(rel) === content.blobId;
  const plan: Plan<C> = {
    create: [],
    update: [],
    remove: [],
    unchanged: unchanged.size,
    contents: new Map(),
  };
  const conflicts: Problem[] = [];
  for (const [rel, content] of [...desired].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const isManagedFile = managed(rel);
    const same = isManagedFile && holds(rel, content);
    if (same) plan.unchanged++;
    else if (isManagedFile) plan.update.push(rel);
    else if (all.has(rel))
      conflicts.push({
        file: rel,
        message: "exists but was not generated by promfleet, so promfleet will not overwrite it",
        fix: "move your file elsewhere (or delete it), then render again",
      });
    else plan.create.push(rel);
    if (!same) plan.contents.set(rel, content);
  }
  plan.remove = tree.paths.filter((rel) => !desired.has(rel) && !unchanged.has(rel) && managed(rel));
  if (conflicts.length > 0)
    throw new PromfleetError(
      "rendering would overwrite files promfleet does not own",
      ExitCode.badInput,
      conflicts,
    );
  return plan;
}
