/**
 * One writer at a time per fleet repository. Two commands writing the same working tree at once share
 * .promfleet/tx: the second discards the first's staged files as an interrupted run's, and the first
 * then reports success with cluster folders missing; two spec edits would lose one. So a command that
 * writes takes .promfleet/lock first and removes it when it ends. The lock names its holder; a lock
 * whose process is gone (same host, no such process) is taken over, any other is reported.
 */
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { ExitCode, PromfleetError } from "../util/errors.js";

export const LOCK_FILE = ".promfleet/lock";

/** Who holds the lock: written into it, shown to whoever finds it held. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  /** When it was taken (ISO 8601): not in any rendered file. */
  since: string;
}

/** Locks held by this process, by lock file: a command that runs another inside it takes it once. */
const held = new Map<string, number>();

/** Runs `write` holding the repository's lock; the lock is released however it ends. */
export async function withRepoLock<T>(root: string, command: string, write: () => Promise<T>): Promise<T> {
  const release = lockRepo(root, command);
  try {
    return await write();
  } finally {
    release();
  }
}

/** Takes the repository's lock, or throws naming its holder; returns the function that releases it. */
export function lockRepo(root: string, command: string): () => void {
  const file = path.resolve(root, LOCK_FILE);
  const depth = held.get(file) ?? 0;
  held.set(file, depth + 1);
  if (depth > 0) return () => held.set(file, (held.get(file) ?? 1) - 1);
  try {
    const madeFolder = makeLockFolder(path.dirname(file));
    if (madeFolder === undefined) return () => held.delete(file); // no such folder: the command fails on its own
    const text = take(file, command);
    return () => {
      held.delete(file);
      release(file, text);
      if (madeFolder) rmdirIfEmpty(path.dirname(file));
    };
  } catch (e) {
    held.delete(file);
    throw e;
  }
}

/**
 * Makes .promfleet/ but not the repository folder (a mistyped -C must not create one): true when it was
 * made now (and so is removed on release if empty), undefined when the repository folder does not exist.
 */
function makeLockFolder(folder: string): boolean | undefined {
  try {
    mkdirSync(folder);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code === "ENOENT") return undefined;
    throw lockProblem(e);
  }
}

function rmdirIfEmpty(folder: string): void {
  try {
    rmdirSync(folder);
  } catch {
    // not empty (a staged render, a password file): it stays
  }
}

/** Creates the lock file whole (written aside, then hard-linked into place: the link fails if one exists). */
function take(file: string, command: string): string {
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command,
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(holder)}\n`;
  const aside = `${file}.${process.pid}`;
  try {
    writeFileSync(aside, text);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (link(aside, file)) return text;
      const current = readHolder(file);
      if (current && !isGone(current)) throw heldBy(current);
      if (current) takeOver(file, current);
    }
    throw heldBy(readHolder(file));
  } catch (e) {
    throw e instanceof PromfleetError ? e : lockProblem(e);
  } finally {
    rmSync(aside, { force: true });
  }
}

function link(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

/** The lock's holder; undefined when the file is gone or is not a lock promfleet wrote. */
function readHolder(file: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>;
    return typeof value.pid === "number" && typeof value.host === "string"
      ? (value as LockHolder)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Only a process on this host can be known to be gone; pids of other hosts (or containers) say nothing. */
function isGone(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Moves a stale lock aside, atomically; if what was moved is not the stale lock read before (another
 * process took it over in between), it is put back.
 */
function takeOver(file: string, stale: LockHolder): void {
  const moved = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, moved);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const was = readHolder(moved);
  if (was && (was.pid !== stale.pid || was.since !== stale.since)) link(moved, file);
  unlinkSync(moved);
}

/** Removes the lock if it is still this run's (never one another process took over). */
function release(file: string, text: string): void {
  try {
    if (readFileSync(file, "utf8") === text) unlinkSync(file);
  } catch {
    // gone already: nothing to release
  }
}

function lockProblem(e: unknown): PromfleetError {
  return new PromfleetError(
    `cannot take the repository's lock ${LOCK_FILE}; nothing was written`,
    ExitCode.badInput,
    [
      {
        file: LOCK_FILE,
        message: (e as Error).message,
        fix: "make the repository folder and .promfleet/ writable, then run the command again",
      },
    ],
  );
}

function heldBy(holder: LockHolder | undefined): PromfleetError {
  const who = holder
    ? `promfleet ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
    : "a lock file promfleet cannot read";
  return new PromfleetError(
    "another promfleet is writing this repository; nothing was written",
    ExitCode.locked,
    [
      {
        file: LOCK_FILE,
        message: `held by ${who}`,
        fix: `wait for it to finish, then run the command again; if no promfleet is running there, remove ${LOCK_FILE}`,
      },
    ],
  );
}
