import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { execa } from "execa";
import { parseFleet } from "../fleet/load.js";
import { parseRepoUrl } from "../github/repo-ref.js";
import { credentialFiles, newCredential, writeCredentialFiles } from "../secrets/credentials.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import { packageRoot } from "../util/tool.js";
import { action } from "./action.js";
import { renderTree } from "./render.js";

interface InitFlags {
  aggregator: string;
  remoteWriteUrl: string;
  packageVersion: string;
  delivery: string;
  gitUrl?: string;
  ageRecipient: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .argument("[dir]", "the new fleet repository (default: the current directory)")
    .description(
      "scaffold a fleet repository: fleet.yaml with secure defaults, overlays, workflows, the aggregator's folder",
    )
    .requiredOption("--aggregator <name>", "the cluster that receives every agent's remote writes")
    .requiredOption(
      "--remote-write-url <url>",
      "where agents write, e.g. https://prometheus.example.com/api/v1/write",
    )
    .option("--package-version <version>", "version of prometheus.tanzu.vmware.com", "2.43.0+vmware.2-tkg.1")
    .option("--delivery <kind>", "kapp-controller or flux", "kapp-controller")
    .option(
      "--git-url <url>",
      "the repository the clusters pull from (default: the directory's origin remote)",
    )
    .option(
      "--age-recipient <key>",
      "SOPS-encrypt credentials for this age public key (repeatable)",
      collect,
      [],
    )
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<InitFlags>(async (o, args) => {
        const dir = path.resolve(args[0] ?? process.cwd());
        return initCommand(dir, o, createOutput(Boolean(o.json)));
      }),
    );
}

async function initCommand(dir: string, o: InitFlags, out: Output): Promise<number> {
  if (await exists(path.join(dir, "fleet.yaml")))
    throw new PromfleetError(
      `${dir} already has a fleet.yaml; promfleet init never overwrites a fleet`,
      ExitCode.badInput,
    );
  const gitUrl = o.gitUrl ?? (await originOf(dir));
  const credential = newCredential();
  const specText = fleetTemplate({ ...o, gitUrl, passwordHash: credential.passwordHash });
  const spec = await parseFleet(specText, dir, "fleet.yaml"); // every flag checked before anything is written
  const files = await scaffoldFiles(specText, o.packageVersion);
  const clashes = (
    await Promise.all([...files.keys()].map(async (f) => ((await exists(path.join(dir, f))) ? f : "")))
  ).filter(Boolean);
  if (clashes.length > 0)
    throw new PromfleetError(`refusing to overwrite ${clashes.join(", ")} in ${dir}`, ExitCode.badInput);
  const written: string[] = [];
  try {
    for (const [rel, content] of files) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), content, { flag: "wx" });
      written.push(rel);
    }
    const aggregator = spec.clusters[0] as (typeof spec.clusters)[number];
    const creds = await credentialFiles(spec, aggregator, credential.password);
    await writeCredentialFiles(creds, dir);
    const { summary } = await renderTree({ dir, fleet: "fleet.yaml" }, out);
    out.result(
      { dir, files: [...written, ...summary.created], nextSteps: creds.nextSteps },
      `fleet created in ${dir}`,
    );
    for (const step of creds.nextSteps) out.info(`next: ${step}`);
    return ExitCode.ok;
  } catch (e) {
    for (const rel of written) await rm(path.join(dir, rel), { force: true });
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function originOf(dir: string): Promise<string> {
  const r = await execa("git", ["-C", dir, "remote", "get-url", "origin"], { reject: false });
  const url = r.exitCode === 0 ? r.stdout.trim() : "";
  if (!url || !parseRepoUrl(url))
    throw new PromfleetError(
      "no git remote origin to take the repository URL from; pass --git-url",
      ExitCode.badInput,
    );
  return url;
}

/** Every file init writes besides the rendered folder, by repository path. */
async function scaffoldFiles(specText: string, version: string): Promise<Map<string, string>> {
  const files = new Map<string, string>([
    ["fleet.yaml", specText],
    [
      ".gitattributes",
      "# Rendered by promfleet: collapsed in pull-request diffs, never edited by hand.\nclusters/** linguist-generated=true\n",
    ],
    [".gitignore", ".promfleet/\nnode_modules/\n"],
    ["README.md", README],
  ]);
  for (const rel of [
    "overlays/base/values.yaml",
    "overlays/roles/aggregator.yaml",
    "overlays/roles/agent.yaml",
  ])
    files.set(rel, await readFile(path.join(packageRoot, rel), "utf8"));
  const workflows = path.join(packageRoot, ".github", "workflows");
  for (const name of (await readdir(workflows).catch(() => [] as string[])).filter((f) => f.endsWith(".yml")))
    files.set(
      `.github/workflows/${name}`,
      forFleetRepository(await readFile(path.join(workflows, name), "utf8"), version),
    );
  for (const name of await readdir(path.join(packageRoot, "templates", "pr")))
    files.set(
      `templates/pr/${name}`,
      await readFile(path.join(packageRoot, "templates", "pr", name), "utf8"),
    );
  return files;
}

/** promfleet's own workflows run the checkout's build; a fleet repository installs promfleet from npm. */
export function forFleetRepository(workflow: string, version: string): string {
  return workflow
    .replace(/^ {10}cache: npm\n/m, "")
    .replace("npm ci\n", `npm install --no-save --no-audit --no-fund promfleet@${version}\n`)
    .replaceAll("bash scripts/install-tools.sh", "bash node_modules/promfleet/scripts/install-tools.sh")
    .replaceAll("path: .tools/bin", "path: node_modules/promfleet/.tools/bin")
    .replace(/hashFiles\('tools\/\*\/go\.sum', 'scripts\/install-tools\.sh'\)/g, `'${version}'`)
    .replaceAll("hashFiles('src/validate/crd-source.ts')", `'${version}'`)
    .replaceAll("node bin/promfleet.js", "npx promfleet");
}

function fleetTemplate(o: InitFlags & { gitUrl: string; passwordHash: string }): string {
  const host = hostOf(o.remoteWriteUrl);
  const secrets =
    o.ageRecipient.length > 0
      ? `secrets:\n  # New credentials are committed SOPS-encrypted for these age keys; clusters decrypt with the Secret sops-age.\n  provider: sops\n  sops:\n    ageRecipients:\n${o.ageRecipient.map((r) => `      - ${JSON.stringify(r)}\n`).join("")}`
      : `secrets:\n  # New credentials never enter Git: promfleet writes them to .promfleet/credentials/ (git-ignored) and\n  # prints the kubectl command that creates the cluster's Secret. Use provider: sops to commit them encrypted.\n  provider: external\n`;
  return `# promfleet fleet spec: the one source of truth for this fleet. Edit it (or use promfleet
# onboard-cluster / offboard-cluster), then run \`promfleet render\`; clusters/ is generated from it.
apiVersion: promfleet.dev/v1alpha1
kind: Fleet

package:
  # The Tanzu package that installs Prometheus on every cluster, and its version.
  refName: prometheus.tanzu.vmware.com
  version: ${JSON.stringify(o.packageVersion)}
  # Namespace of the PackageInstall, its values Secret and the bootstrap App.
  namespace: tkg-system

git:
  # The repository each cluster pulls its folder (clusters/<name>/) from.
  url: ${JSON.stringify(o.gitUrl)}
  branch: main

# What pulls a cluster's folder onto it: kapp-controller (an App) or flux (a Kustomization).
delivery: ${o.delivery}

remoteWrite:
  # Where agents send their samples. TLS is verified (set tls.caSecret if a private CA signs the
  # aggregator's certificate); every cluster authenticates with its own credential (auth: basic).
  url: ${JSON.stringify(o.remoteWriteUrl)}

${secrets}
clusters:
  # The aggregator: receives every agent's remote writes, and labels its own scrapes with its name.
  - name: ${o.aggregator}
    role: aggregator
    ingress:
      host: ${host}
    retention: 15d
    credential:
      passwordHash: ${JSON.stringify(o.passwordHash)}
  # Agents are added with: promfleet onboard-cluster <name> --pr
`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    throw new PromfleetError(`--remote-write-url ${url} is not a URL`, ExitCode.badInput);
  }
}

const README = `# Prometheus fleet

Managed with [promfleet](https://www.npmjs.com/package/promfleet): \`fleet.yaml\` is the source of truth,
\`overlays/\` holds the ytt files you own, \`clusters/<name>/\` is rendered (do not edit).

- Add a cluster: \`npx promfleet onboard-cluster <name> --pr\`, then apply its bootstrap file once.
- Remove one: \`npx promfleet offboard-cluster <name> --pr\`.
- After editing fleet.yaml or overlays/: \`npx promfleet render\`.
- Pull requests are checked by .github/workflows/pr-review.yml; merges by on-merge.yml.
`;
