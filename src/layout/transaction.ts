import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { FILE_CONCURRENCY, mapBounded } from "../util/pool.js";
import type { Plan } from "./tree.js";

/**
 * Applies a plan so that an interruption never leaves a half-written tree for long: every new file is
 * first written under .promfleet/tx/, then a journal is written (the commit point), then the files are
 * renamed into place and stale ones removed. A run that finds a journal finishes that work first; a
 * staging folder without a journal is discarded (the interrupted run changed nothing).
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
  await mkdir(txDir, { recursive: true });
  const entries = [...plan.contents].map(([target, content], n) => ({
    staged: `file-${n}`,
    target,
    content,
  }));
  await mapBounded(entries, FILE_CONCURRENCY, (e) => writeFile(path.join(txDir, e.staged), e.content));
  const journal: Journal = {
    moves: entries.map(({ staged, target }) => ({ staged, target })),
    remove: plan.remove,
  };
  const tmpJournal = path.join(txDir, `${JOURNAL}.tmp`);
  await writeFile(tmpJournal, JSON.stringify(journal));
  await rename(tmpJournal, path.join(txDir, JOURNAL));
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
  const targetDirs = [...new Set(journal.moves.map((m) => path.dirname(path.join(root, m.target))))];
  await mapBounded(targetDirs, FILE_CONCURRENCY, (dir) => mkdir(dir, { recursive: true }));
  let done = 0;
  // Under crash injection, one move at a time, so the test knows exactly how far the run got.
  const concurrency = crashLimit() > 0 ? 1 : FILE_CONCURRENCY;
  await mapBounded(journal.moves, concurrency, async ({ staged, target }) => {
    await rename(path.join(txDir, staged), path.join(root, target)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    crashForTests(++done);
  });
  for (const rel of journal.remove) {
    await rm(path.join(root, rel), { force: true });
    await removeEmptyParents(root, path.dirname(rel));
  }
  await rm(txDir, { recursive: true, force: true });
}

async function removeEmptyParents(root: string, rel: string): Promise<void> {
  for (let dir = rel; dir !== "." && dir !== "clusters" && dir !== ""; dir = path.dirname(dir)) {
    const entries = await readdir(path.join(root, dir)).catch(() => undefined);
    if (!entries || entries.length > 0) return;
    await rmdir(path.join(root, dir));
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
