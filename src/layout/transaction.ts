/**
 * The journaled apply: stage every file (while rendering, or at the end), commit a journal, move into
 * place; an interrupted run is finished by the next.
 */
import {
  accessSync,
  constants,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { gitBlobId } from "./git-index.js";
import { CLUSTERS_DIR } from "./names.js";
import type { ClusterTree, DesiredContent, Plan, StagedContent } from "./tree.js";

/**
 * Applies a plan so that an interruption never leaves a half-written tree for long: every new file is
 * first written under .promfleet/tx/, then a journal is written (the commit point), then the files are
 * renamed into place and stale ones removed. A run that finds a journal finishes that work first; a
 * staging folder without a journal is discarded (the interrupted run changed nothing).
 * Files may be staged while the fleet is still rendering (StagedFiles): the kernel's file creation,
 * costly on some file systems, then overlaps ytt's runs. Staging is not writing: until the journal
 * exists, removing the staging folder undoes everything.
 * The per-file work is synchronous: for thousands of small files that is several times cheaper than
 * promise-based calls, and the order of moves is exactly the journal's.
 */
const TX_DIR = ".promfleet/tx";
const JOURNAL = "journal.json";

interface Journal {
  moves: Array<{ staged: string; target: string }>;
  remove: string[];
}

/** Moves a staged file onto its target (a rename); a test passes one that fails or kills the process. */
export type MoveFile = (staged: string, target: string) => void;

/**
 * Writes the plan. Files `staged` holds with the plan's content are moved from where they were staged;
 * the others are staged now. Without `staged`, an interrupted run is finished (or discarded) first.
 */
export async function applyPlan(
  root: string,
  plan: Plan<DesiredContent>,
  move: MoveFile = renameSync,
  staged?: StagedFiles,
): Promise<void> {
  if (!staged) await recoverInterrupted(root, move);
  const stats = new StatCache(root);
  const staging = staged ?? new StagedFiles(root, undefined, stats);
  // lstat: a dangling symlink where a folder goes is there, so its files are moved one by one (and fail)
  const missing = (folder: string) => !lstatSync(path.join(root, folder), { throwIfNoEntry: false });
  const moves = staging.moves(plan.contents, missing);
  checkWritable(root, [...moves.map((m) => m.target), ...plan.remove], stats);
  await staging.commit({ moves, remove: plan.remove });
  finish(root, { moves, remove: plan.remove }, move);
}

/** Where a staged file is, relative to the staging folder, and the git blob id of what it holds. */
interface StagedFile {
  name: string;
  blobId: string;
}

/**
 * A cluster folder the tree does not have, staged as a whole (`dir-N/`): one rename puts it in place
 * instead of one per file.
 */
interface StagedFolder {
  name: string;
  /** Repository paths of the files staged in it. */
  targets: string[];
}

/**
 * Files written into the staging folder ahead of the plan (as each chunk of clusters is rendered), only
 * those whose content differs from the tree's: a file the tree already holds is never moved. Open it
 * after recoverInterrupted; discard it when the run fails before applyPlan commits its journal.
 */
export class StagedFiles {
  private readonly txDir: string;
  private readonly staged = new Map<string, StagedFile>();
  /** Cluster folder (clusters/<name>) -> the folder staged for it, for folders the tree does not have. */
  private readonly folders = new Map<string, StagedFolder>();
  /** Folders made under the staging folder (relative to it; "" is the staging folder itself). */
  private readonly made = new Set<string>();
  /** The tree's paths and cluster folders, once the first file is offered. */
  private known?: { paths: Set<string>; folders: Set<string> };
  private count = 0;
  private committed = false;

  constructor(
    root: string,
    private readonly tree?: ClusterTree,
    stats: StatCache = new StatCache(root),
  ) {
    this.txDir = path.join(root, TX_DIR);
    checkWritable(root, [`${TX_DIR}/${JOURNAL}`], stats);
  }

  /**
   * Stages the files (repository path -> content) that are not already in the tree as they are; a cluster
   * folder the tree does not have is staged as a folder. `blobIds` are the files' git blob ids when the
   * caller has them (else they are computed). Returns each file's blob id, which stands for its content
   * in the plan from then on: the caller may drop the texts.
   */
  offer(
    files: ReadonlyMap<string, string>,
    blobIds: ReadonlyMap<string, string> = new Map(),
  ): Map<string, StagedContent> {
    const ids = new Map<string, StagedContent>();
    for (const [target, content] of files) {
      const blobId = blobIds.get(target) ?? gitBlobId(content);
      ids.set(target, { blobId });
      if (this.inTree(target, content)) continue;
      const folder = this.newFolder(target);
      if (folder) this.writeInFolder(folder, target, content, blobId);
      else this.write(target, content, blobId);
    }
    return ids;
  }

  /**
   * The journal's moves for the plan's files: a staged folder whose files are exactly the plan's under it
   * moves as one when `missing(folder)` (its target does not exist); every other file moves on its own,
   * staged now if it was not before.
   */
  moves(
    contents: ReadonlyMap<string, DesiredContent>,
    missing: (folder: string) => boolean,
  ): Journal["moves"] {
    const names = new Map(
      [...contents].map(([target, content]) => [target, this.stagedName(target, content)]),
    );
    const planned = new Map<string, number>();
    for (const target of names.keys()) {
      const folder = clusterFolder(target);
      if (folder && this.folders.has(folder)) planned.set(folder, (planned.get(folder) ?? 0) + 1);
    }
    const whole = new Set<string>();
    for (const [folder, staged] of this.folders) {
      const exact =
        planned.get(folder) === staged.targets.length &&
        staged.targets.every((t) => names.get(t) === this.staged.get(t)?.name);
      if (exact && missing(folder)) whole.add(folder);
    }
    const inWhole = (target: string) => whole.has(clusterFolder(target) ?? "");
    const moves: Journal["moves"] = [...whole].map((folder) => ({
      staged: (this.folders.get(folder) as StagedFolder).name,
      target: folder,
    }));
    for (const [target, name] of names) if (!inWhole(target)) moves.push({ staged: name, target });
    return moves;
  }

  /** Writes the journal: from here on the run is finished, by this process or the next. */
  async commit(journal: Journal): Promise<void> {
    // writeFileAtomic makes the folder when nothing was staged (a plan that only removes files)
    await this.guard(() => writeFileAtomic(path.join(this.txDir, JOURNAL), JSON.stringify(journal)));
    this.committed = true;
  }

  /** Removes the staging folder unless its journal was committed (then the moves must happen). */
  discard(): void {
    if (!this.committed) rmSync(this.txDir, { recursive: true, force: true });
  }

  /** The staged file holding `content` for `target`: the one staged before, or one written now. */
  private stagedName(target: string, content: DesiredContent): string {
    const earlier = this.staged.get(target);
    if (typeof content !== "string") {
      if (earlier?.blobId !== content.blobId) throw new Error(`bug: ${target} was not staged as planned`);
      return earlier.name;
    }
    const blobId = gitBlobId(content);
    return earlier?.blobId === blobId ? earlier.name : this.write(target, content, blobId);
  }

  private inTree(target: string, content: string): boolean {
    const tree = this.tree;
    if (!tree) return false;
    return this.treePaths().paths.has(target) && tree.content(target) === content;
  }

  private treePaths(): { paths: Set<string>; folders: Set<string> } {
    if (!this.known) {
      const paths = new Set(this.tree?.paths);
      const folders = new Set<string>();
      for (const rel of paths) {
        const folder = clusterFolder(rel);
        if (folder) folders.add(folder);
      }
      this.known = { paths, folders };
    }
    return this.known;
  }

  /** The cluster folder of `target` when the tree has no file in it (staged as a whole), else undefined. */
  private newFolder(target: string): string | undefined {
    const folder = clusterFolder(target);
    if (!folder || this.treePaths().folders.has(folder)) return undefined;
    return folder;
  }

  private write(target: string, content: string, blobId: string): string {
    const name = `file-${this.count++}`;
    this.guard(() => {
      this.makeFolder("");
      writeFileSync(`${this.txDir}/${name}`, content);
    });
    this.staged.set(target, { name, blobId });
    return name;
  }

  private writeInFolder(folder: string, target: string, content: string, blobId: string): void {
    let staged = this.folders.get(folder);
    if (!staged) this.folders.set(folder, (staged = { name: `dir-${this.count++}`, targets: [] }));
    const name = `${staged.name}${target.slice(folder.length)}`;
    this.guard(() => {
      this.makeFolder(path.posix.dirname(name));
      writeFileSync(`${this.txDir}/${name}`, content);
    });
    staged.targets.push(target);
    this.staged.set(target, { name, blobId });
  }

  /** Makes `rel` (relative to the staging folder) and its parents, each with one mkdir, once. */
  private makeFolder(rel: string): void {
    if (this.made.has(rel)) return;
    if (rel === "") mkdirSync(this.txDir, { recursive: true });
    else {
      this.makeFolder(rel.includes("/") ? path.posix.dirname(rel) : "");
      mkdirSync(`${this.txDir}/${rel}`);
    }
    this.made.add(rel);
  }

  /** Runs a step of staging; on a file-system error removes the folder, so nothing was written. */
  private guard<T>(step: () => T): T {
    const failed = (e: unknown): never => {
      rmSync(this.txDir, { recursive: true, force: true });
      if (!isErrno(e)) throw e;
      throw new PromfleetError(`could not stage files in ${TX_DIR}; nothing was written`, ExitCode.badInput, [
        { file: TX_DIR, message: e.message, fix: "free space or fix the folder, then run the command again" },
      ]);
    };
    try {
      const result = step();
      return result instanceof Promise ? (result.catch(failed) as T) : result;
    } catch (e) {
      return failed(e);
    }
  }
}

/** clusters/<name> for a path inside a cluster folder, else undefined. */
function clusterFolder(target: string): string | undefined {
  const prefix = `${CLUSTERS_DIR}/`;
  const end = target.indexOf("/", prefix.length);
  return target.startsWith(prefix) && end !== -1 ? target.slice(0, end) : undefined;
}

/** Completes or discards an interrupted apply; returns true when it completed one. */
export async function recoverInterrupted(root: string, move: MoveFile = renameSync): Promise<boolean> {
  const txDir = path.join(root, TX_DIR);
  const text = await readFile(path.join(txDir, JOURNAL), "utf8").catch(() => undefined);
  if (text === undefined) {
    await rm(txDir, { recursive: true, force: true });
    return false;
  }
  finish(root, JSON.parse(text) as Journal, move);
  return true;
}

/** stat results by repository path, each path looked at once per run. */
class StatCache {
  private readonly stats = new Map<string, Stats | undefined>();

  constructor(private readonly root: string) {}

  /** The path's stats; undefined when nothing is there. */
  get(rel: string): Stats | undefined {
    if (!this.stats.has(rel)) this.stats.set(rel, statOrMissing(path.join(this.root, rel)));
    return this.stats.get(rel);
  }
}

/**
 * Refuses, before anything is written, when a target's folder cannot be written or made: a read-only or
 * immutable folder, a read-only mount, or a file where a folder must go. Each folder is looked at once
 * (thousands of new cluster folders share their parent).
 */
function checkWritable(root: string, targets: string[], stats: StatCache): void {
  const problems = new Map<string, Problem>();
  const checked = new Set<string>();
  for (const folder of new Set(targets.map((t) => path.dirname(t)))) {
    let existing = folder;
    while (!stats.get(existing) && existing !== ".") existing = path.dirname(existing);
    if (checked.has(existing)) continue;
    checked.add(existing);
    const problem = folderProblem(root, folder, existing, stats.get(existing));
    if (problem) problems.set(problem.file, problem);
  }
  if (problems.size > 0)
    throw new PromfleetError(`cannot write into ${root}; nothing was written`, ExitCode.badInput, [
      ...problems.values(),
    ]);
}

/** Checks `existing`: the folder, or, when it does not exist yet, the nearest existing one it would be made in. */
function folderProblem(
  root: string,
  folder: string,
  existing: string,
  stats: Stats | undefined,
): Problem | undefined {
  if (!stats) return undefined;
  if (!stats.isDirectory())
    return {
      file: existing,
      message: `is a file, so promfleet cannot make the folder ${folder}`,
      fix: "move the file elsewhere (promfleet did not write it), then run the command again",
    };
  try {
    accessSync(path.join(root, existing), constants.W_OK);
    return undefined;
  } catch (e) {
    return {
      file: existing,
      message: `folder is not writable (${(e as NodeJS.ErrnoException).code})`,
      fix: "make it writable (chmod u+w; chattr -i if it is immutable; remount read-write if its file system is read-only), then run the command again",
    };
  }
}

function statOrMissing(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

/**
 * Idempotent: a move whose staged file is gone was done before the interruption. A failure keeps the
 * journal, so the next run finishes the moves; the error says how far this one got.
 */
function finish(root: string, journal: Journal, move: MoveFile): void {
  const txDir = path.join(root, TX_DIR);
  let done = 0;
  try {
    makeFolders(journal.moves.map((m) => path.dirname(path.join(root, m.target))));
    for (const { staged, target } of journal.moves) {
      moveIfStaged(path.join(txDir, staged), path.join(root, target), move);
      done++;
    }
    for (const rel of journal.remove) {
      rmSync(path.join(root, rel), { force: true });
      removeEmptyParents(root, path.dirname(rel));
    }
  } catch (e) {
    if (!isErrno(e)) throw e;
    throw new PromfleetError(
      `${done} of ${journal.moves.length} files or new folders were moved into place when writing failed; the journal ${TX_DIR}/${JOURNAL} is kept`,
      ExitCode.badInput,
      [
        {
          file: e.path ? path.relative(root, e.path) : TX_DIR,
          message: e.message,
          fix: "fix the cause, then run promfleet render again: it finishes these moves first",
        },
      ],
    );
  }
  rmSync(txDir, { recursive: true, force: true });
}

/**
 * Makes each folder (absolute) that is missing with one mkdir, its missing parents first: a recursive
 * mkdirSync also stats every folder that exists, and a render names each folder for every file in it.
 */
function makeFolders(dirs: Iterable<string>): void {
  const made = new Set<string>();
  const make = (dir: string): void => {
    if (made.has(dir)) return;
    try {
      mkdirSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && path.dirname(dir) !== dir) {
        make(path.dirname(dir));
        mkdirSync(dir);
      } else if (code !== "EEXIST") throw e;
    }
    made.add(dir);
  };
  for (const dir of dirs) make(dir);
}

/**
 * A staged folder whose target exists by now (made since the plan, or partly moved by an interrupted run)
 * is merged into it entry by entry.
 */
function moveIfStaged(staged: string, target: string, move: MoveFile): void {
  try {
    move(staged, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !lstatSync(staged).isDirectory()) throw e;
    for (const entry of readdirSync(staged)) moveIfStaged(`${staged}/${entry}`, `${target}/${entry}`, move);
  }
}

function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string";
}

/** Best effort: an empty folder left behind is harmless, so a folder that cannot be removed stays. */
function removeEmptyParents(root: string, rel: string): void {
  for (let dir = rel; dir !== "." && dir !== CLUSTERS_DIR && dir !== ""; dir = path.dirname(dir)) {
    try {
      if (readdirSync(path.join(root, dir)).length > 0) return;
      rmdirSync(path.join(root, dir));
    } catch {
      return;
    }
  }
}
