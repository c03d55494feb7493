import { execa } from "execa";
import path from "node:path";
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import { newCredential, type NewCredential } from "../../src/secrets/credentials.js";
import { exampleFleetRepo, repoRoot, writeRepoFile } from "./fleet-repo.js";

export const toolPath = (name: string) => path.join(repoRoot, ".tools", "bin", name);

export interface SecureFleet {
  dir: string;
  credentials: Map<string, NewCredential>;
  ageKeyFile?: string;
}

/** A fleet with promfleet's secure defaults: basic auth, TLS verified with a CA Secret, optional SOPS. */
export async function secureFleetRepo(
  opts: { agents?: string[]; sops?: boolean } = {},
): Promise<SecureFleet> {
  const dir = await exampleFleetRepo();
  const agents = opts.agents ?? ["kind"];
  const credentials = new Map([
    ["orbstack", newCredential()],
    ...agents.map((a) => [a, newCredential()] as const),
  ]);
  let secrets = "";
  let ageKeyFile: string | undefined;
  if (opts.sops) {
    ageKeyFile = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-age-")), "key.txt");
    await execa(toolPath("age-keygen"), ["-o", ageKeyFile]);
    const recipient = (await execa(toolPath("age-keygen"), ["-y", ageKeyFile])).stdout.trim();
    secrets = `secrets:\n  provider: sops\n  sops:\n    ageRecipients: [${recipient}]\n`;
  }
  const hash = (name: string) =>
    `    credential:\n      passwordHash: "${credentials.get(name)?.passwordHash}"\n`;
  const agentEntries = agents.map((a) => `  - name: ${a}\n    role: agent\n${hash(a)}`).join("");
  await writeRepoFile(
    dir,
    "fleet.yaml",
    `apiVersion: promfleet.dev/v1alpha1
kind: Fleet
package:
  refName: prometheus.tanzu.vmware.com
  version: 2.43.0+vmware.2-tkg.1
git:
  url: https://github.com/example/fleet.git
remoteWrite:
  tls:
    caSecret: aggregator-ca
${secrets}clusters:
  - name: orbstack
    role: aggregator
    ingress:
      host: prometheus.example.com
${hash("orbstack")}${agentEntries}`,
  );
  return { dir, credentials, ageKeyFile };
}

export async function readText(dir: string, rel: string): Promise<string> {
  return readFile(path.join(dir, rel), "utf8");
}
