/** The command line: every command registered on one commander program, global -C/-f, --version. */
import { Command } from "commander";
import { action } from "./commands/action.js";
import { registerClusterCommands } from "./commands/cluster-commands.js";
import { registerCredentialCommands } from "./commands/credentials.js";
import { registerInitCommand } from "./commands/init.js";
import { renderCommand } from "./commands/render.js";
import { registerDiffCommand } from "./commands/diff.js";
import { registerValidateCommand } from "./commands/validate.js";
import { registerVerifyCommand } from "./commands/verify.js";
import { registerRolloutCommands } from "./commands/rollout.js";
import { registerWorkflowCommands } from "./commands/workflow-commands.js";
import { DEFAULT_FLEET_FILE } from "./fleet/load.js";
import { ExitCode } from "./util/errors.js";
import { createOutput } from "./util/output.js";
import { PROMFLEET_VERSION } from "./util/version.js";

export function buildCli(): Command {
  const program = new Command("promfleet")
    .description("Keep a fleet's Prometheus monitoring (one aggregator, agents everywhere else) in Git.")
    .version(PROMFLEET_VERSION, "-V, --version", "print promfleet's version")
    .option("-C, --dir <path>", "fleet repository root", process.cwd())
    .option("-f, --fleet <file>", "fleet spec, relative to the root", DEFAULT_FLEET_FILE)
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.exitCode === 0) process.exit(0);
      if (argvWantsJson(process.argv))
        process.stdout.write(`${JSON.stringify({ error: err.message.replace(/^error: /, "") }, null, 2)}\n`);
      process.exit(ExitCode.badInput);
    });

  program
    .command("render")
    .description("render clusters/<name>/ for every cluster in the fleet spec")
    .option("--check", "write nothing; exit 1 and list the files that would change")
    .option("--dry-run", "show what would change, write nothing")
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<{ check?: boolean; dryRun?: boolean; json?: boolean }>((o) =>
        renderCommand(o, createOutput(Boolean(o.json))),
      ),
    );

  registerInitCommand(program);
  registerClusterCommands(program);
  registerCredentialCommands(program);
  registerValidateCommand(program);
  registerDiffCommand(program);
  registerVerifyCommand(program);
  registerWorkflowCommands(program);
  registerRolloutCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildCli().parseAsync(argv);
}

/** Commander's own errors (unknown option, missing argument) come before any action runs. */
function argvWantsJson(argv: string[]): boolean {
  return (
    argv.includes("--json") ||
    argv.some((a, i) => a === "--format=json" || (a === "--format" && argv[i + 1] === "json"))
  );
}
