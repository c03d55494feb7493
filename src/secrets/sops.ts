/** Encrypting a Secret manifest with the sops binary for the given age recipients. */
import { ExitCode, PromfleetError } from "../util/errors.js";
import { run, runFailure } from "../util/process.js";
import { atLeast, findTool, installHint, type Tool } from "../util/tool.js";

const SOPS_PINNED_VERSION = "3.13.3";
const SOPS_MIN_VERSION = "3.8.0";

export function findSops(env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  return findTool(
    {
      name: "sops",
      envVar: "PROMFLEET_SOPS",
      versionArgs: ["--disable-version-check", "--version"],
      parseVersion: (out) => /sops (\d+\.\d+\.\d+)/.exec(out)?.[1],
      accepts: (v) => atLeast(v, SOPS_MIN_VERSION),
      minimum: SOPS_MIN_VERSION,
      installHint: installHint("sops", SOPS_PINNED_VERSION, "PROMFLEET_SOPS"),
    },
    env,
  );
}

/**
 * Encrypts a Kubernetes Secret manifest for the given age recipients. Only `data` and `stringData` are
 * encrypted, so reviewers still see which Secret changes; Flux and kapp-controller decrypt it natively.
 */
export async function encryptSecretManifest(
  sops: Tool,
  yamlText: string,
  ageRecipients: string[],
): Promise<string> {
  const args = [
    "--disable-version-check",
    "encrypt",
    "--age",
    ageRecipients.join(","),
    "--encrypted-regex",
    "^(data|stringData)$",
    "--input-type",
    "yaml",
    "--output-type",
    "yaml",
    "--filename-override",
    "credentials.sops.yaml",
  ];
  // sops must not find a .sops.yaml of the user's that overrides what promfleet asks for: cwd /.
  const r = await run(sops.path, args, { input: yamlText, timeoutMs: 30_000, cwd: "/", stdoutApart: true });
  if (r.exitCode === 0) return r.stdout.toString("utf8");
  // sops never echoes the plaintext; its stderr says which recipient or flag it rejected.
  const message = r.all.trim() || runFailure(sops.path, args, r);
  throw new PromfleetError(`sops could not encrypt the credentials: ${message}`, ExitCode.badInput);
}
