/**
 * The command line: every command registered on one commander program, global -C/-f, --version. Only the
 * module of the command being run is imported (the others pull in octokit, ajv, handlebars, …); help and
 * unknown commands load them all.
 */
import type { Command as CommandType } from "commander";
import { Command } from "commander";
import { action } from "./commands/action.js";
import { DEFAULT_FLEET_FILE } from "./fleet/default-file.js";
import { discardEarlyCredential } from "./secrets/credential-hash.js";
import { commandName } from "./command-name.js";
import { ExitCode } from "./util/errors.js";
import { createOutput } from "./util/output.js";
import { PROMFLEET_VERSION } from "./util/version.js";

type Register = (program: CommandType) => void;

/** Each command module, in the order help lists them, with the commands it registers. */
const COMMAND_MODULES: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ["render"], load: () => Promise.resolve(registerRender) },
  { names: ["init"], load: async () => (await import("./commands/init.js")).registerInitCommand },
  {
    names: ["onboard-cluster", "offboard-cluster"],
    load: async () => (await import("./commands/cluster-commands.js")).registerClusterCommands,
  },
  {
    names: ["rotate-credential"],
    load: async () => (await import("./commands/credentials.js")).registerCredentialCommands,
  },
  { names: ["validate"], load: async () => (await import("./commands/validate.js")).registerValidateCommand },
  { names: ["diff"], load: async () => (await import("./commands/diff.js")).registerDiffCommand },
  { names: ["verify"], load: async () => (await import("./commands/verify.js")).registerVerifyCommand },
  {
    names: ["pr-comment", "record-deployments", "fix-drift"],
    load: async () => (await import("./commands/workflow-commands.js")).registerWorkflowCommands,
  },
  { names: ["rollout"], load: async () => (await import("./commands/rollout.js")).registerRolloutCommands },
];

/** The program with the modules of `command` registered (all of them when undefined or unknown). */
export async function buildCli(command?: string): Promise<Command> {
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

  const only = COMMAND_MODULES.filter((m) => command !== undefined && m.names.includes(command));
  for (const m of only.length > 0 ? only : COMMAND_MODULES) (await m.load())(program);
  return program;
}

function registerRender(program: CommandType): void {
  program
    .command("render")
    .description("render clusters/<name>/ for every cluster in the fleet spec")
    .option("--check", "write nothing; exit 1 and list the files that would change")
    .option("--dry-run", "show what would change, write nothing")
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<{ check?: boolean; dryRun?: boolean; json?: boolean }>(async (o) =>
        (await import("./commands/render.js")).renderCommand(o, createOutput(Boolean(o.json))),
      ),
    );
}

/** Runs the command argv names. bin/promfleet.js ran startEarly(argv) (early-start.ts) before this loaded. */
export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildCli(commandName(argv))).parseAsync(argv);
  } finally {
    discardEarlyCredential();
  }
}

/** Commander's own errors (unknown option, missing argument) come before any action runs. */
function argvWantsJson(argv: string[]): boolean {
  return (
    argv.includes("--json") ||
    argv.some((a, i) => a === "--format=json" || (a === "--format" && argv[i + 1] === "json"))
  );
}
