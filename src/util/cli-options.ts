/** Option helpers shared by the commands' commander definitions. */
import type { Command } from "commander";
import { ExitCode } from "./errors.js";

/** For a repeatable option (`--crds A --crds B`): collects every value, in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * Makes commander's own errors (unknown option, missing required option, bad argument) keep the
 * `--json` promise: with --json on the command line, stdout gets `{"error": …}` too; the exit code is 2.
 * Help and --version still exit 0.
 */
export function jsonParseErrors(command: Command, argv: readonly string[] = process.argv): Command {
  return command.exitOverride((err) => {
    if (err.exitCode === 0) process.exit(0);
    if (argv.includes("--json"))
      process.stdout.write(`${JSON.stringify({ error: err.message.replace(/^error: /, "") }, null, 2)}\n`);
    process.exit(ExitCode.badInput);
  });
}
