/**
 * The journaled apply: stage every file (while rendering, or at the end), commit a journal, move into
 * place; an interrupted run is finished by the next.
 */
import {
  accessSync,
  constants,
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
import { CLUSTERS_DIR } from "./names.js";
import type { ClusterTree, Plan } from "./tree.js";

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
  plan: Plan,
  move: MoveFile = renameSync,
  staged?: StagedFiles,
): Promise<void> {
  if (!staged) await recoverInterrupted(root, move);
  checkWritable(root, [...plan.contents.keys(), ...plan.remove, `${TX_DIR}/${JOURNAL}`]);
  const staging = staged ?? new StagedFiles(root);
  const moves = [...plan.contents].map(([target, content]) => ({
    staged: staging.stagedName(target, content),
    target,
  }));
  await staging.commit({ moves, remove: plan.remove });
  finish(root, { moves, remove: plan.remove }, move);
}

/**
 * Files written into the staging folder ahead of the plan (as each chunk of clusters is rendered), only
 * those whose content differs from the tree's: a file the tree already holds is never moved. Open it
 * after recoverInterrupted; discard it when the run fails before applyPlan commits its journal.
 */
export class StagedFiles {
  private readonly txDir: string;
  /** Target -> its staged file's name and the content written there. */
  private readonly staged = new Map<string, { name: string; content: string }>();
  /** The tree's paths, as a set once the first file is offered. */
  private paths?: Set<string>;
  private count = 0;
  private committed = false;

  constructor(
    root: string,
    private readonly tree?: ClusterTree,
  ) {
    this.txDir = path.join(root, TX_DIR);
    checkWritable(root, [`${TX_DIR}/${JOURNAL}`]);
  }

  /** Stages the files (repository path -> content) that are not already in the tree as they are. */
  offer(files: ReadonlyMap<string, string>): void {
    for (const [target, content] of files) if (!this.inTree(target, content)) this.write(target, content);
  }

  /** The staged file holding `content` for `target`: the one staged before, or one written now. */
  stagedName(target: string, content: string): string {
    const earlier = this.staged.get(target);
    return earlier?.content === content ? earlier.name : this.write(target, content);
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

  private inTree(target: string, content: string): boolean {
    const tree = this.tree;
    if (!tree) return false;
    this.paths ??= new Set(tree.paths);
    return this.paths.has(target) && tree.content(target) === content;
  }

  private write(target: string, content: string): string {
    const name = `file-${this.count++}`;
    this.guard(() => {
      if (this.count === 1) mkdirSync(this.txDir, { recursive: true });
      writeFileSync(path.join(this.txDir, name), content);
    });
    this.staged.set(target, { name, content });
    return name;
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

/**
 * Refuses, before anything is written, when a target's folder cannot be written or made: a read-only or
 * immutable folder, a read-only mount, or a file where a folder must go. Each folder is looked at once
 * (thousands of new cluster folders share their parent).
 */
function checkWritable(root: string, targets: string[]): void {
  const problems = new Map<string, Problem>();
  const stats = new Map<string, Stats | undefined>();
  const statOnce = (rel: string) => {
    if (!stats.has(rel)) stats.set(rel, statOrMissing(path.join(root, rel)));
    return stats.get(rel);
  };
  const checked = new Set<string>();
  for (const folder of new Set(targets.map((t) => path.dirname(t)))) {
    let existing = folder;
    while (!statOnce(existing) && existing !== ".") existing = path.dirname(existing);
    if (checked.has(existing)) continue;
    checked.add(existing);
    const problem = folderProblem(root, folder, existing, statOnce(existing));
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
      `${done} of ${journal.moves.length} files were moved into place when writing failed; the journal ${TX_DIR}/${JOURNAL} is kept`,
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

function moveIfStaged(staged: string, target: string, move: MoveFile): void {
  try {
    move(staged, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
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
