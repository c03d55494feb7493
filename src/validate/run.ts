/**
 * git and promtool runs for `validate` and `diff`, with node's child_process: loading execa costs
 * either command about a tenth of a second of CPU, as much as checking one cluster.
 */
import { spawn } from "node:child_process";

export interface RunResult {
  /** undefined when the process was killed (`timedOut` says whether by the timeout) or did not start. */
  exitCode: number | undefined;
  timedOut: boolean;
  stdout: Buffer;
  /** stdout and stderr as they arrived; why the process did not start or was killed, when so. */
  all: string;
}

export interface RunOptions {
  input?: string;
  /** Added to the process environment. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to its end; never rejects (a command that does not start has no exit code). */
export function run(file: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: o.env ? { ...process.env, ...o.env } : process.env,
      timeout: o.timeoutMs,
      stdio: [o.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const [stdout, all]: [Buffer[], Buffer[]] = [[], []];
    child.stdout?.on("data", (b: Buffer) => (stdout.push(b), all.push(b)));
    child.stderr?.on("data", (b: Buffer) => all.push(b));
    let failure = "";
    child.on("error", (e) => (failure = e.message));
    child.stdin?.on("error", () => undefined); // a process that exits before reading all its input
    child.stdin?.end(o.input);
    child.on("close", (code, signal) => {
      const timedOut = signal !== null && child.killed && o.timeoutMs !== undefined;
      const why = timedOut ? `timed out after ${o.timeoutMs} ms` : signal ? `killed by ${signal}` : failure;
      const output = Buffer.concat(all).toString("utf8");
      resolve({
        exitCode: failure ? undefined : (code ?? undefined),
        timedOut,
        stdout: Buffer.concat(stdout),
        all: why ? `${output}${output ? "\n" : ""}${file}: ${why}` : output,
      });
    });
  });
}

/** A command's stdout as text; an error naming the command and its output when it fails. */
export async function runText(file: string, args: string[], o: RunOptions = {}): Promise<string> {
  const r = await run(file, args, o);
  if (r.exitCode !== 0)
    throw new Error(
      `${[file, ...args].join(" ")} failed (exit code ${r.exitCode ?? "none"}): ${r.all.trim()}`,
    );
  return r.stdout.toString("utf8");
}
