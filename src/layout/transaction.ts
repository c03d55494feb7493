import { mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { Plan } from "./tree.js";

/**
 * Applies a plan so that an interruption never leaves a half-written tree for long: every new file is
 * first written under .promfleet/tx/, then a journal is written (the commit point), then the files are
 * renamed into place and stale ones removed. A run that finds a journal finishes that work first; a
 * staging folder without a journal is discarded (the interrupted run changed nothing).
 * The per-file work is synchronous: for thousands of small files that is several times cheaper than
 * promise-based calls, and the order of moves is exactly the journal's.
 */
const TX_DIR = ".promfleet/tx";
const JOURNAL = "journal.json";

interface Journal {
  moves: Array<{ staged: string; target: string }>;
  remove: string[];
}

export async function applyPlan(root: string, plan: Plan): Promise<void> {
  await recoverInterrupted(root);
  const txDir = path.join(root, TX_DIR);
  mkdirSync(txDir, { recursive: true });
  const entries = [...plan.contents].map(([target, content], n) => ({
    staged: `file-${n}`,
    target,
    content,
  }));
  for (const e of entries) writeFileSync(path.join(txDir, e.staged), e.content);
  const journal: Journal = {
    moves: entries.map(({ staged, target }) => ({ staged, target })),
    remove: plan.remove,
  };
  await writeFileAtomic(path.join(txDir, JOURNAL), JSON.stringify(journal));
  await finish(root, journal);
}

/** Completes or discards an interrupted apply; returns true when it completed one. */
export async function recoverInterrupted(root: string): Promise<boolean> {
  const txDir = path.join(root, TX_DIR);
  const text = await readFile(path.join(txDir, JOURNAL), "utf8").catch(() => undefined);
  if (text === undefined) {
    await rm(txDir, { recursive: true, force: true });
    return false;
  }
  await finish(root, JSON.parse(text) as Journal);
  return true;
}

/** Idempotent: a move whose staged file is gone was done before the interruption. */
async function finish(root: string, journal: Journal): Promise<void> {
  const txDir = path.join(root, TX_DIR);
  const targetDirs = new Set(journal.moves.map((m) => path.dirname(path.join(root, m.target))));
  for (const dir of targetDirs) mkdirSync(dir, { recursive: true });
  let done = 0;
  for (const { staged, target } of journal.moves) {
    moveIfStaged(path.join(txDir, staged), path.join(root, target));
    crashForTests(++done);
  }
  for (const rel of journal.remove) {
    rmSync(path.join(root, rel), { force: true });
    removeEmptyParents(root, path.dirname(rel));
  }
  rmSync(txDir, { recursive: true, force: true });
}

function moveIfStaged(staged: string, target: string): void {
  try {
    renameSync(staged, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

function removeEmptyParents(root: string, rel: string): void {
  for (let dir = rel; dir !== "." && dir !== "clusters" && dir !== ""; dir = path.dirname(dir)) {
    let entries: string[];
    try {
      entries = readdirSync(path.join(root, dir));
    } catch {
      return;
    }
    if (entries.length > 0) return;
    rmdirSync(path.join(root, dir));
  }
}

/** PROMFLEET_TEST_CRASH_AFTER_MOVES=N kills the process after N files moved (crash-safety tests). */
function crashForTests(moves: number): void {
  const limit = crashLimit();
  if (limit > 0 && moves >= limit) process.kill(process.pid, "SIGKILL");
}

function crashLimit(): number {
  return Number(process.env.PROMFLEET_TEST_CRASH_AFTER_MOVES) || 0;
}
