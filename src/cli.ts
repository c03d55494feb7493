import { Command, Option } from "commander";
import { renderCommand } from "./commands/render.js";
import { DEFAULT_FLEET_FILE } from "./fleet/load.js";
import { ExitCode } from "./util/errors.js";
import { createOutput, reportError } from "./util/output.js";

interface GlobalOptions {
  dir: string;
  fleet: string;
}

/** Wraps a command so that every error becomes a clear message and a meaningful exit code. */
function action<T extends { json?: boolean }>(run: (o: T & GlobalOptions) => Promise<number>) {
  return async (opts: T, cmd: Command) => {
    const all = { ...cmd.optsWithGlobals<GlobalOptions>(), ...opts } as T & GlobalOptions;
    try {
      process.exitCode = await run(all);
    } catch (e) {
      process.exitCode = reportError(e, Boolean(all.json));
    }
  };
}

export function buildCli(): Command {
  const program = new Command("promfleet")
    .description("Keep a fleet's Prometheus monitoring (one aggregator, agents everywhere else) in Git.")
    .option("-C, --dir <path>", "fleet repository root", process.cwd())
    .option("-f, --fleet <file>", "fleet spec, relative to the root", DEFAULT_FLEET_FILE)
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : ExitCode.badInput);
    });

  program
    .command("render")
    .description("render clusters/<name>/ for every cluster in the fleet spec")
    .option("--check", "write nothing; exit 1 and list the files that would change")
    .option("--dry-run", "show what would change, write nothing")
    .addOption(new Option("--json", "print the result as JSON on stdout"))
    .action(action<{ check?: boolean; dryRun?: boolean; json?: boolean }>((o) => renderCommand(o, createOutput(Boolean(o.json)))));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildCli().parseAsync(argv);
}
