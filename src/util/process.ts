/**
 * Running a command to its end with node's child_process: the process runner for tool checks, git, promtool
 * and sops (loading execa costs a command about a tenth of a second of CPU, as much as checking one cluster).
 * ytt runs through execa (src/ytt/ytt.ts), the project's runner for it.
 */
import { spawn } from "node:child_process";

export interface RunResult {
  /** undefined when the process was killed (`timedOut` says whether by the timeout) or did not start. */
  exitCode: number | undefined;
  timedOut: boolean;
  stdout: Buffer;
  /** stdout and stderr as they arrived; why the process did not start or was killed, when so. */
  all: string;
  /** Why the process did not start (code ENOENT: no such file), when it did not. */
  startError?: NodeJS.ErrnoException;
}

export interface RunOptions {
  input?: string;
  /** Added to the process environment. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Working directory; the process's own when absent. */
  cwd?: string;
  /** Keeps stdout out of `all` (then stderr and why it failed): for a large output, read as `stdout`. */
  stdoutApart?: boolean;
}

/** Runs a command to its end; never rejects (a command that does not start has no exit code). */
export function run(file: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: o.cwd,
      env: o.env ? { ...process.env, ...o.env } : process.env,
      timeout: o.timeoutMs,
      stdio: [o.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const [stdout, all]: [Buffer[], Buffer[]] = [[], []];
    child.stdout?.on("data", (b: Buffer) => (stdout.push(b), o.stdoutApart || all.push(b)));
    child.stderr?.on("data", (b: Buffer) => all.push(b));
    let startError: NodeJS.ErrnoException | undefined;
    child.on("error", (e) => (startError = e));
    child.stdin?.on("error", () => undefined); // a process that exits before reading all its input
    child.stdin?.end(o.input);
    child.on("close", (code, signal) => {
      const timedOut = signal !== null && child.killed && o.timeoutMs !== undefined;
      const why = timedOut
        ? `timed out after ${o.timeoutMs} ms`
        : signal
          ? `killed by ${signal}`
          : (startError?.message ?? "");
      const output = Buffer.concat(all).toString("utf8");
      resolve({
        exitCode: startError ? undefined : (code ?? undefined),
        timedOut,
        stdout: Buffer.concat(stdout),
        all: why ? `${output}${output ? "\n" : ""}${file}: ${why}` : output,
        ...(startError && { startError }),
      });
    });
  });
}

/** What went wrong with a run that did not exit 0: the command, its exit code and its output. */
export function runFailure(file: string, args: string[], r: RunResult): string {
  return `${[file, ...args].join(" ")} failed (exit code ${r.exitCode ?? "none"}): ${r.all.trim()}`;
}

/** A command's stdout as text; an error naming the command and its output when it fails. */
export async function runText(file: string, args: string[], o: RunOptions = {}): Promise<string> {
  const r = await run(file, args, o);
  if (r.exitCode !== 0) throw new Error(runFailure(file, args, r));
  return r.stdout.toString("utf8");
}
