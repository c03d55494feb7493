/**
 * Wraps a command's action so every error becomes a message and a documented exit code (JSON under --json).
 */
import type { Command } from "commander";
import { reportError } from "../util/output.js";

export interface GlobalOptions {
  /** Fleet repository root. */
  dir: string;
  /** Fleet spec path, relative to the root. */
  fleet: string;
}

/** Wraps a command so that every error becomes a clear message and a meaningful exit code. */
export function action<T extends object>(run: (o: T & GlobalOptions, args: string[]) => Promise<number>) {
  return async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    const all = { ...cmd.optsWithGlobals<GlobalOptions>() } as T & GlobalOptions;
    try {
      process.exitCode = await run(all, cmd.args);
    } catch (e) {
      process.exitCode = reportError(e, wantsJson(all));
    }
  };
}

/** `--json`, or `--format json`: the command's output is data, so its errors are too. */
export function wantsJson(o: object): boolean {
  const { json, format } = o as { json?: boolean; format?: string };
  return Boolean(json) || format === "json";
}
