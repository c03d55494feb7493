/**
 * Finding the external tools (ytt, promtool, sops): .tools/bin with a checked sha256, then PATH, then an
 * install hint.
 */
import { existsSync, type BigIntStats } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "./atomic-write.js";
import { ExitCode, PromfleetError } from "./errors.js";
import { run, runFailure } from "./process.js";
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
  if (!fromEnv && candidate === local) return findBuiltTool(spec, env);
  const tool = acceptedVersion(spec, candidate, await versionOutput(spec, candidate, env));
  await spec.check?.(tool, env);
  return tool;
}

/** The tool at `candidate` whose version command printed `output`; exit 3 when that version is too old. */
function acceptedVersion(spec: ToolSpec, candidate: string, output: string): Tool {
  const version = spec.parseVersion(output) ?? "unknown";
  if (!spec.accepts(version))
    throw new PromfleetError(
      `${spec.name} ${version} at ${candidate} is older than ${spec.minimum}\n${spec.installHint}`,
      ExitCode.missingTool,
    );
  return { name: spec.name, path: candidate, version };
}

const VERSION_TIMEOUT_MS = 10_000;

/** stdout and stderr of the tool's version command (some tools print their version on stderr). */
async function versionOutput(spec: ToolSpec, candidate: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(candidate, spec.versionArgs, { env, timeoutMs: VERSION_TIMEOUT_MS });
  if (r.exitCode === 0) return r.all;
  const reason =
    r.startError?.code === "ENOENT" ? "not found" : runFailure(candidate, spec.versionArgs, r).split("\n")[0];
  throw new PromfleetError(
    `${spec.name} ${reason} (looked for ${candidate})\n${spec.installHint}`,
    ExitCode.missingTool,
  );
}

/**
 * A binary changed less than this before it was hashed is not cached as verified: a later change within
 * the same timestamp tick (file times come from a coarse clock; some filesystems keep whole seconds)
 * could leave its ctime as it was, as git's "racily clean" index entries.
 */
const SETTLED_MS = 1000;

/**
 * A built tool must still be the binary install-tools.sh built: its version output alone proves nothing
 * (a replaced or corrupted binary can print anything), its sha256 against the recorded one does. Hashing
 * costs a command up to a tenth of a second (promtool is 114 MB), so a binary that passed is cached beside
 * the record, keyed by its stat identity the way git's index is: ctime cannot be set from user space and
 * any write or rename changes it, and whoever can write the cache can rewrite the record beside it anyway.
 * The cache keeps the version output too, and a hit skips `spec.check` (both start the binary, and depend
 * on nothing but it).
 */
async function findBuiltTool(spec: ToolSpec, env: NodeJS.ProcessEnv): Promise<Tool> {
  const dir = toolsDir(env);
  const binary = path.join(dir, "bin", spec.name);
  const started = Date.now();
  const recorded = await recordedSha256(spec.name, dir);
  const identity = await stat(binary, { bigint: true });
  // the check's own code is part of the key: a promfleet that checks differently checks again
  const checkCode = spec.check ? sha256Hex(String(spec.check)) : "";
  const key = JSON.stringify([recorded, statIdentity(identity), spec.versionArgs, checkCode]);
  const cacheFile = path.join(dir, "sha256", `.${spec.name}.verified`);
  const known = await cachedVersionOutput(cacheFile, key);
  if (known !== undefined) return acceptedVersion(spec, binary, known);

  await checkSha256(binary, recorded, spec.name);
  const output = await versionOutput(spec, binary, env);
  const tool = acceptedVersion(spec, binary, output);
  await spec.check?.(tool, env);
  if (identity.ctimeNs < BigInt(started - SETTLED_MS) * 1_000_000n)
    // only a shortcut: a read-only tools folder verifies every time
    await writeFileAtomic(cacheFile, `${JSON.stringify({ key, versionOutput: output })}\n`).catch(
      () => undefined,
    );
  return tool;
}

async function checkSha256(binary: string, recorded: string, name: string): Promise<void> {
  const actual = sha256Hex(await readFile(binary));
  if (actual !== recorded)
    throw new PromfleetError(
      `${binary}: sha256 ${actual} is not the ${recorded} recorded when it was built; it changed since\n` +
        reinstallFix(name),
      ExitCode.missingTool,
    );
}

/** The sha256 install-tools.sh recorded for a built tool; exit 3 when there is none. */
async function recordedSha256(name: string, dir: string): Promise<string> {
  const recordFile = path.join(dir, "sha256", name);
  const recorded = (await readFile(recordFile, "utf8").catch(() => "")).split(/\s/)[0];
  if (!recorded)
    throw new PromfleetError(
      `${path.join(dir, "bin", name)}: no sha256 recorded in ${recordFile}, so it cannot be told from a replaced binary\n` +
        reinstallFix(name),
      ExitCode.missingTool,
    );
  return recorded;
}

/** The stat fields that change whenever a file's content or name does: what git's index compares. */
function statIdentity(s: BigIntStats): string {
  return [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(" ");
}

/** The version output a cache file holds for this key; undefined when missing, garbled or another key's. */
async function cachedVersionOutput(cacheFile: string, key: string): Promise<string | undefined> {
  try {
    const cached = JSON.parse(await readFile(cacheFile, "utf8")) as {
      key?: unknown;
      versionOutput?: unknown;
    };
    return cached.key === key && typeof cached.versionOutput === "string" ? cached.versionOutput : undefined;
  } catch {
    return undefined;
  }
}

function reinstallFix(name: string): string {
  return `fix: rerun ${installerCommand(name)} (it rebuilds the pinned version and records its sha256)`;
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
