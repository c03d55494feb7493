import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ExecaError } from "execa";
import { ExitCode, PromfleetError } from "../util/errors.js";

export const YTT_PINNED_VERSION = "0.52.1";
/** Library data values, schemas and `template.replace` of library output need at least this. */
const YTT_MIN_VERSION = [0, 44, 0];
const DEFAULT_TIMEOUT_MS = 120_000;

export const INSTALL_HINT = [
  `install ytt ${YTT_PINNED_VERSION} one of these ways:`,
  `  scripts/install-tools.sh ytt        (builds the pinned version with Go into .tools/bin)`,
  `  the release binary, checksum-verified: see docs/install-tools.md`,
  `or point PROMFLEET_YTT at an existing ytt binary`,
].join("\n");

export interface Ytt {
  path: string;
  version: string;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Finds ytt: $PROMFLEET_YTT, then the project's .tools/bin, then PATH; checks its version. */
export async function findYtt(env: NodeJS.ProcessEnv = process.env): Promise<Ytt> {
  const candidate = env.PROMFLEET_YTT || localTool("ytt") || "ytt";
  let stdout: string;
  try {
    ({ stdout } = await execa(candidate, ["version"], { timeout: 10_000, env }));
  } catch (e) {
    const reason = (e as ExecaError).code === "ENOENT" ? "not found" : (e as Error).message.split("\n")[0];
    throw new PromfleetError(
      `ytt ${reason} (looked for ${candidate})\n${INSTALL_HINT}`,
      ExitCode.missingTool,
    );
  }
  const version = /ytt version (\S+)/.exec(stdout)?.[1] ?? "unknown";
  if (!isRecentEnough(version))
    throw new PromfleetError(
      `ytt ${version} at ${candidate} is older than ${YTT_MIN_VERSION.join(".")}\n${INSTALL_HINT}`,
      ExitCode.missingTool,
    );
  return { path: candidate, version };
}

function localTool(name: string): string | undefined {
  const p = path.join(packageRoot, ".tools", "bin", name);
  return existsSync(p) ? p : undefined;
}

/** Development builds print `develop`; trust them, as ytt's own release process does. */
function isRecentEnough(version: string): boolean {
  if (version === "develop") return true;
  const parts = version.replace(/^v/, "").split(/[.-]/).map(Number);
  for (let i = 0; i < YTT_MIN_VERSION.length; i++) {
    const have = parts[i] ?? 0;
    const want = YTT_MIN_VERSION[i] as number;
    if (Number.isNaN(have)) return false;
    if (have !== want) return have > want;
  }
  return true;
}

export interface YttRun {
  /** Files and directories passed with -f, in order. */
  files: string[];
  dataValuesFiles?: string[];
  output?: "yaml" | "json";
  timeoutMs?: number;
  /** Rewrites paths in ytt's messages (staged path -> the user's file). */
  renamePaths?: (message: string) => string;
}

/** Runs ytt with an argument array (never a shell) and returns its stdout. */
export async function runYtt(ytt: Ytt, run: YttRun): Promise<string> {
  const args = [
    ...run.files.flatMap((f) => ["-f", f]),
    ...(run.dataValuesFiles ?? []).flatMap((f) => ["--data-values-file", f]),
  ];
  if (run.output === "json") args.push("--output", "json");
  const timeout = run.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const { stdout } = await execa(ytt.path, args, {
      timeout,
      maxBuffer: 1024 * 1024 * 1024,
      stripFinalNewline: false,
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

/** ytt rejected a template; the message names the template file and line. */
export class YttError extends PromfleetError {
  constructor(message: string) {
    super(message, ExitCode.badInput);
    this.name = "YttError";
  }
}
