/**
 * Finding the external tools (ytt, promtool, sops): .tools/bin with a checked sha256, then PATH, then an
 * install hint.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ExitCode, PromfleetError } from "./errors.js";
import { sha256Hex } from "./sha256.js";

/** The directory holding package.json, dist/, overlays/ and .tools/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Tool {
  name: string;
  path: string;
  version: string;
}

export interface ToolSpec {
  name: string;
  /** Environment variable that names the binary, e.g. PROMFLEET_YTT. */
  envVar: string;
  versionArgs: string[];
  /** Extracts the version from the version command's output. */
  parseVersion: (output: string) => string | undefined;
  /** True when the version is recent enough. */
  accepts: (version: string) => boolean;
  minimum: string;
  installHint: string;
  /** Refuses a binary of an accepted version that still cannot do what promfleet needs (throws). */
  check?: (tool: Tool, env: NodeJS.ProcessEnv) => Promise<void>;
}

/**
 * promfleet's own tool folder (scripts/install-tools.sh builds into <it>/bin and records each binary's
 * sha256 in <it>/sha256/<name>): $PROMFLEET_TOOLS_DIR, else the package's .tools.
 */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROMFLEET_TOOLS_DIR || path.join(packageRoot, ".tools");
}

/**
 * Finds an external tool: $ENV_VAR, then the tools folder's bin/ (checked against the sha256 recorded
 * when it was built), then PATH; checks its version. A binary named by the variable or found on PATH is
 * the user's or the system's choice and is trusted as such; `spec.check` still applies to it.
 */
export async function findTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  const local = path.join(toolsDir(env), "bin", spec.name);
  const fromEnv = env[spec.envVar];
  const candidate = fromEnv || (existsSync(local) ? local : spec.name);
  if (!fromEnv && candidate === local) await checkRecordedSha256(spec.name, env);
  const version = spec.parseVersion(await versionOutput(spec, candidate, env)) ?? "unknown";
  if (!spec.accepts(version))
    throw new PromfleetError(
      `${spec.name} ${version} at ${candidate} is older than ${spec.minimum}\n${spec.installHint}`,
      ExitCode.missingTool,
    );
  const tool = { name: spec.name, path: candidate, version };
  await spec.check?.(tool, env);
  return tool;
}

async function versionOutput(spec: ToolSpec, candidate: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return await outputOf(candidate, spec.versionArgs, env);
  } catch (e) {
    const reason =
      (e as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (e as Error).message.split("\n")[0];
    throw new PromfleetError(
      `${spec.name} ${reason} (looked for ${candidate})\n${spec.installHint}`,
      ExitCode.missingTool,
    );
  }
}

/**
 * stdout and stderr of a short command (node's execFile: every command pays execa's import otherwise);
 * `env` extends the process environment, as execa does.
 */
function outputOf(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      error ? reject(error) : resolve(`${stdout}${stderr}`),
    );
  });
}

/** Binaries already checked in this process: a render asks for ytt once per evaluation. */
const verified = new Set<string>();

/**
 * A built tool must still be the binary install-tools.sh built: its version output alone proves nothing
 * (a replaced or corrupted binary can print anything), its sha256 against the recorded one does.
 */
async function checkRecordedSha256(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const dir = toolsDir(env);
  const binary = path.join(dir, "bin", name);
  if (verified.has(binary)) return;
  const recordFile = path.join(dir, "sha256", name);
  const fix = `fix: rerun ${installerCommand(name)} (it rebuilds the pinned version and records its sha256)`;
  const recorded = (await readFile(recordFile, "utf8").catch(() => "")).split(/\s/)[0];
  if (!recorded)
    throw new PromfleetError(
      `${binary}: no sha256 recorded in ${recordFile}, so it cannot be told from a replaced binary\n${fix}`,
      ExitCode.missingTool,
    );
  const actual = sha256Hex(await readFile(binary));
  if (actual !== recorded)
    throw new PromfleetError(
      `${binary}: sha256 ${actual} is not the ${recorded} recorded when it was built; it changed since\n${fix}`,
      ExitCode.missingTool,
    );
  verified.add(binary);
}

/** Compares dotted versions numerically: true when `version` >= `minimum`. */
export function atLeast(version: string, minimum: string): boolean {
  const have = version.replace(/^v/, "").split(/[.-]/).map(Number);
  const want = minimum.split(".").map(Number);
  for (let i = 0; i < want.length; i++) {
    const h = have[i] ?? 0;
    const w = want[i] as number;
    if (Number.isNaN(h)) return false;
    if (h !== w) return h > w;
  }
  return true;
}

/** The installer shipped with promfleet, by absolute path: a fleet repository has no scripts/ of its own. */
function installerCommand(name: string): string {
  return `bash ${path.join(packageRoot, "scripts", "install-tools.sh")} ${name}`;
}

/** The install hint every tool shares; `name` is one of scripts/install-tools.sh's tools. */
export function installHint(name: string, version: string, envVar: string): string {
  return [
    `install ${name} ${version} one of these ways:`,
    `  ${installerCommand(name)}   (builds the pinned version with Go into ${path.join(packageRoot, ".tools", "bin")})`,
    `  the release binary, checksum-verified: see docs/install-tools.md`,
    `or point ${envVar} at an existing ${name} binary`,
  ].join("\n");
}
