/**
 * A new credential's password and its bcrypt hash. Hashing costs about a tenth of a second of CPU, so a
 * command that mints a credential starts it on a worker thread before it loads its modules and reads the
 * spec, which it overlaps. This module stays light (bcryptjs only on demand): it is loaded before the
 * command's own.
 */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** bcrypt cost; Prometheus' exporter-toolkit caches successful checks, so this costs once per client. */
export const BCRYPT_COST = 10;

export interface NewCredential {
  /** Never printed, logged or returned in --json output. */
  password: string;
  passwordHash: string;
}

const require = createRequire(import.meta.url);

/** bcryptjs for this thread, loaded on first use: a command that hashes on a worker never loads it here. */
export function bcryptLibrary(): typeof import("bcryptjs") {
  return require("bcryptjs") as typeof import("bcryptjs");
}

/** 32 random bytes, base64url: safe in any file, header or shell word. */
export function newPassword(): string {
  return randomBytes(32).toString("base64url");
}

/** A credential being hashed on a worker thread. */
export interface PendingCredential {
  /** The credential, once its hash is ready. */
  credential: Promise<NewCredential>;
  /** Stops the thread, when the command turned out to need no credential; harmless once it is done. */
  discard(): void;
}

/**
 * Starts hashing a new password on a worker thread. The password reaches the thread in memory
 * (workerData), never through argv, the environment or a file. The thread keeps the process alive until
 * it is done or discarded: call discard() on every path that does not await the credential.
 */
export function startNewCredential(): PendingCredential {
  const password = newPassword();
  const worker = new Worker(new URL("./hash-worker.js", import.meta.url), {
    workerData: { password, cost: BCRYPT_COST },
  });
  const credential = new Promise<NewCredential>((resolve, reject) => {
    worker.once("message", (passwordHash: string) => resolve({ password, passwordHash }));
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new Error(`the password hashing thread exited (${code}) without a hash`)),
    );
  });
  credential.catch(() => undefined); // a discarded credential's end is nobody's concern
  return { credential, discard: () => void worker.terminate() };
}

let startedEarly: PendingCredential | undefined;

/**
 * Starts hashing before the CLI is loaded (early-start.ts, for a command that will likely mint a
 * credential): the worker's own start-up and the hashing then overlap loading the CLI and the command's
 * modules too. Only a guess: the command takes it with newCredential(), or main() discards it.
 */
export function startCredentialEarly(): void {
  startedEarly ??= startNewCredential();
}

/** The credential started early, else one started now. */
export function newCredential(): PendingCredential {
  const pending = startedEarly ?? startNewCredential();
  startedEarly = undefined;
  return pending;
}

/** Stops a credential started early that no command took. */
export function discardEarlyCredential(): void {
  startedEarly?.discard();
  startedEarly = undefined;
}
