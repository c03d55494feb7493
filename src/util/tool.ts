import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ExecaError } from "execa";
import { ExitCode, PromfleetError } from "./errors.js";

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
}

/** Finds an external tool: $ENV_VAR, then the package's .tools/bin, then PATH; checks its version. */
export async function findTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  const local = path.join(packageRoot, ".tools", "bin", spec.name);
  const candidate = env[spec.envVar] || (existsSync(local) ? local : spec.name);
  let output: string;
  try {
    const result = await execa(candidate, spec.versionArgs, { timeout: 10_000, env, all: true });
    output = result.all ?? "";
  } catch (e) {
    const reason = (e as ExecaError).code === "ENOENT" ? "not found" : (e as Error).message.split("\n")[0];
    throw new PromfleetError(
      `${spec.name} ${reason} (looked for ${candidate})\n${spec.installHint}`,
      ExitCode.missingTool,
    );
  }
  const version = spec.parseVersion(output) ?? "unknown";
  if (!spec.accepts(version))
    throw new PromfleetError(
      `${spec.name} ${version} at ${candidate} is older than ${spec.minimum}\n${spec.installHint}`,
      ExitCode.missingTool,
    );
  return { name: spec.name, path: candidate, version };
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

/** The install hint every tool shares; `name` is one of scripts/install-tools.sh's tools. */
export function installHint(name: string, version: string, envVar: string): string {
  return [
    `install ${name} ${version} one of these ways:`,
    `  scripts/install-tools.sh ${name}        (builds the pinned version with Go into .tools/bin)`,
    `  the release binary, checksum-verified: see docs/install-tools.md`,
    `or point ${envVar} at an existing ${name} binary`,
  ].join("\n");
}
