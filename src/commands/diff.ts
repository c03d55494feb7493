/** The diff command: what changes on which cluster between a git ref's rendered tree and the working tree. */
import type { Command } from "commander";
import { formatDiff, type DiffFormat } from "../diff/format.js";
import { defaultBase } from "../diff/git-tree.js";
import { diffWorkingTree, startDiff } from "../diff/stream.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { reportError } from "../util/output.js";
import { action, type GlobalOptions } from "./action.js";

interface DiffFlags extends GlobalOptions {
  base?: string;
  format: string;
}

const FORMATS: DiffFormat[] = ["text", "markdown", "json"];

export function registerDiffCommand(program: Command): void {
  program
    .command("diff")
    .description("what changes on which cluster between a git ref's rendered tree and the working tree")
    .option("--base <ref>", "git ref to compare with (default: merge base with origin/<branch>, else HEAD)")
    .option("--format <format>", "text, markdown or json (json: errors too, as {error, problems})", "text")
    .action(
      action<DiffFlags>(async (o) => {
        try {
          return await diffCommand(o);
        } catch (e) {
          // --format json is this command's --json: a consumer parsing stdout gets JSON on failure too.
          if (o.format === "json") return reportError(e, true);
          throw e;
        }
      }),
    );
}

async function diffCommand(o: DiffFlags): Promise<number> {
  if (!FORMATS.includes(o.format as DiffFormat))
    throw new PromfleetError(`--format ${o.format}: use text, markdown or json`, ExitCode.badInput);
  // --format json carries the review comment's +/- columns: lines added and removed per cluster
  const options = { countLines: o.format === "json" };
  // with --base, the groups are handed out before the spec loads, and compared while it does (a spec
  // problem is still reported first: what fails here is awaited below)
  const early = o.base === undefined ? undefined : startDiff(o.dir, o.base, options);
  (await early?.catch(() => undefined))?.diffs.catch(() => undefined);
  // the spec reader's modules load after that too: the worker threads start sooner
  const { loadFleet } = await import("../fleet/load.js");
  const spec = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const diffs = await (early
    ? (await early).diffs
    : diffWorkingTree(o.dir, await defaultBase(o.dir, spec.git.branch), options));
  process.stdout.write(`${formatDiff(diffs, o.format as DiffFormat)}\n`);
  return ExitCode.ok;
}
