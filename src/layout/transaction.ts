import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
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
  const journal: Journal = { moves: [], remove: plan.remove };
  let n = 0;
  for (const [target, content] of plan.contents) {
    const staged = `file-${n++}`;
    await writeFile(path.join(txDir, staged), content);
    journal.moves.push({ staged, target });
  }
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
  let done = 0;
  for (const { staged, target } of journal.moves) {
    const from = path.join(txDir, staged);
    const to = path.join(root, target);
    await mkdir(path.dirname(to), { recursive: true });
    await rename(from, to).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    crashForTests(++done);
  }
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
  const limit = Number(process.env.PROMFLEET_TEST_CRASH_AFTER_MOVES);
  if (limit > 0 && moves >= limit) process.kill(process.pid, "SIGKILL");
}
