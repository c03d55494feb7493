/** Finding and running the ytt binary; its errors mapped to the user's files. */
import type { ExecaError } from "execa";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { atLeast, findTool, installHint, type Tool } from "../util/tool.js";

export const YTT_PINNED_VERSION = "0.52.1";
/** Library data values, schemas and `overlay.apply` with or_add need at least this. */
const YTT_MIN_VERSION = "0.44.0";
const DEFAULT_TIMEOUT_MS = 120_000;
/**
 * ytt spends about 40% of its CPU in Go's garbage collector on a fleet render; collecting ten times
 * less often halves that for 55–70 MB per evaluation of 64 to 512 clusters (measured with `npm run bench`).
 */
const YTT_GOGC = "1000";

export type Ytt = Tool;

/** Finds ytt: $PROMFLEET_YTT, then the project's .tools/bin, then PATH; checks its version. */
export function findYtt(env: NodeJS.ProcessEnv = process.env): Promise<Ytt> {
  return findTool(
    {
      name: "ytt",
      envVar: "PROMFLEET_YTT",
      versionArgs: ["version"],
      parseVersion: (out) => /ytt version (\S+)/.exec(out)?.[1],
      // Development builds print `develop`; trust them, as ytt's own release process does.
      accepts: (v) => v === "develop" || atLeast(v, YTT_MIN_VERSION),
      minimum: YTT_MIN_VERSION,
      installHint: installHint("ytt", YTT_PINNED_VERSION, "PROMFLEET_YTT"),
    },
    env,
  );
}

export interface YttRun {
  /** Files and directories passed with -f, in order. */
  files: string[];
  dataValuesFiles?: string[];
  /** bulk: every output file, text templates' too, as JSON (`--bulk-out`; see runYttBulk). */
  output?: "yaml" | "bulk";
  timeoutMs?: number;
  /** Rewrites paths in ytt's messages (staged path -> the user's file). */
  renamePaths?: (message: string) => string;
}

/**
 * Loads what runs ytt (execa) now, for a command that will run ytt after waiting for something else
 * (a new credential's hash): the load then overlaps the wait instead of following it.
 */
export function preloadYttRunner(): void {
  import("execa").catch(() => undefined); // a failed load is raised again where ytt runs
}

/** Runs ytt with an argument array (never a shell) and returns its stdout. */
export async function runYtt(ytt: Ytt, run: YttRun): Promise<string> {
  const args = [
    ...run.files.flatMap((f) => ["-f", f]),
    ...(run.dataValuesFiles ?? []).flatMap((f) => ["--data-values-file", f]),
  ];
  if (run.output === "bulk") args.push("--bulk-out");
  const timeout = run.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    // loaded here: a render that runs no ytt (nothing changed) never pays execa's import
    const { execa } = await import("execa");
    const { stdout } = await execa(ytt.path, args, {
      timeout,
      maxBuffer: 1024 * 1024 * 1024,
      stripFinalNewline: false,
      env: { GOGC: process.env.GOGC ?? YTT_GOGC },
    });
    return stdout;
  } catch (e) {
    const err = e as ExecaError;
    if (err.timedOut)
      throw new PromfleetError(`ytt did not finish within ${timeout / 1000}s`, ExitCode.checkFailed);
    const message = String(err.stderr || err.message).trim();
    throw new YttError((run.renamePaths ?? ((m) => m))(message));
  }
}

/**
 * Runs ytt with `--bulk-out`: every output file, text templates' too, by name. ytt reports a template
 * error inside that JSON (and exits 0), so it is raised here as a YttError.
 */
export async function runYttBulk(ytt: Ytt, run: Omit<YttRun, "output">): Promise<Map<string, string>> {
  const output = await runYtt(ytt, { ...run, output: "bulk" });
  const bulk = JSON.parse(output) as { files?: Array<{ name: string; data: string }>; errors?: string };
  if (bulk.errors) throw new YttError((run.renamePaths ?? ((m) => m))(bulk.errors.trim()));
  return new Map((bulk.files ?? []).map((f) => [f.name, f.data]));
}

/** ytt rejected a template; the message names the template file and line. */
export class YttError extends PromfleetError {
  constructor(message: string) {
    super(message, ExitCode.badInput);
    this.name = "YttError";
  }
}
