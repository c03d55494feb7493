/**
 * The init command: checks its flags, renders the aggregator in a staging folder, then writes the scaffold
 * through the journaled apply.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { parseFleet } from "../fleet/load.js";
import type { FleetSpec } from "../fleet/spec.js";
import { resolveExisting, type ResolvedFiles } from "../init/existing.js";
import { fleetSpecText } from "../init/fleet-spec.js";
import { scaffoldFiles, type ScaffoldFile } from "../init/scaffold.js";
import {
  asFlagProblems,
  flagError,
  initSettings,
  type InitFlags,
  type InitSettings,
} from "../init/settings.js";
import { DEFAULT_ACTIONS_REPO, FLEET_ENVIRONMENT } from "../init/workflows.js";
import { applyPlan } from "../layout/transaction.js";
import { planTree, type Plan } from "../layout/tree.js";
import { readRenderInputs, renderFleet } from "../render/render.js";
import { credentialFiles, newCredential, writeCredentialFiles } from "../secrets/credentials.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import { action, type GlobalOptions } from "./action.js";
import { collect } from "../util/cli-options.js";

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .argument("[dir]", "the fleet repository, relative to -C (default: -C's folder, or the current one)")
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
    .option(
      "--codeowner <owner>",
      "who must review changes to the fleet, for .github/CODEOWNERS: @org/team, @user or an e-mail (repeatable)",
      collect,
      [],
    )
    .option(
      "--actions-repo <owner/name>",
      "the GitHub repository whose promfleet actions the workflows use, pinned to this promfleet's version",
      DEFAULT_ACTIONS_REPO,
    )
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<InitFlags>(async (o, args) => {
        const dir = path.resolve(o.dir, args[0] ?? ".");
        return initCommand(dir, o, createOutput(Boolean(o.json)));
      }),
    );
}

/**
 * Everything is checked and rendered before anything is written: flags, the spec, files the
 * repository already has, the rendered folder. The files then go in through one journaled apply.
 */
async function initCommand(dir: string, o: InitFlags & GlobalOptions, out: Output): Promise<number> {
  await refuseExistingFleet(dir);
  const { settings, problems } = await initSettings(o, dir);
  const credential = newCredential();
  const files = await scaffoldFiles(settings, fleetSpecText(settings, credential.passwordHash));
  const staging = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-"));
  try {
    const spec = await checkedSpec(staging, files, settings, problems);
    const resolved = await resolveExisting(dir, files);
    if (resolved.conflicts.length > 0)
      throw new PromfleetError(
        `${dir} has files promfleet init would overwrite; nothing was written`,
        ExitCode.badInput,
        resolved.conflicts,
      );
    const { creds, rendered } = await renderAggregator(staging, spec, credential.password, out);
    const plan = withScaffold(await planTree(dir, rendered), resolved.writes, creds.repo);
    // the password first: a fleet.yaml must never hold a hash whose password was not kept
    await writeCredentialFiles({ ...creds, repo: new Map() }, dir);
    await applyPlan(dir, plan);
    report(dir, plan, resolved, settings, [...startIn(dir), ...creds.nextSteps], out);
    return ExitCode.ok;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The aggregator's credential files and its rendered folder, rendered from the staging copy. */
async function renderAggregator(staging: string, spec: FleetSpec, password: string, out: Output) {
  const creds = await credentialFiles(spec, spec.clusters[0] as FleetSpec["clusters"][number], password);
  await writeCredentialFiles({ ...creds, local: new Map() }, staging); // render sees an encrypted credential
  const rendered = await renderFleet(spec, await readRenderInputs(spec));
  rendered.warnings.forEach((w) => out.warn(w));
  return { creds, rendered: rendered.files };
}

async function refuseExistingFleet(dir: string): Promise<void> {
  const found = await stat(path.join(dir, "fleet.yaml")).then(
    () => true,
    () => false,
  );
  if (found)
    throw new PromfleetError(
      `${dir} is already a fleet; init never changes one, so nothing was written`,
      ExitCode.badInput,
      [
        {
          file: "fleet.yaml",
          message: "exists",
          fix: "edit fleet.yaml and run promfleet render, or add clusters with promfleet onboard-cluster",
        },
      ],
    );
}

/** The spec as every command will read it, from a staging copy (the overlays must exist to check it). */
async function checkedSpec(
  staging: string,
  files: Map<string, ScaffoldFile>,
  settings: InitSettings,
  flagProblems: Problem[],
): Promise<FleetSpec> {
  for (const [rel, file] of files)
    if (rel === "fleet.yaml" || rel.startsWith("overlays/")) {
      await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
      await writeFile(path.join(staging, rel), file.content);
    }
  const text = (files.get("fleet.yaml") as ScaffoldFile).content;
  let spec: FleetSpec | undefined;
  let specProblems: Problem[] = [];
  try {
    spec = await parseFleet(text, staging, "fleet.yaml");
  } catch (e) {
    if (!(e instanceof PromfleetError) || e.problems.length === 0) throw e;
    specProblems = e.problems;
  }
  const problems = [...flagProblems, ...asFlagProblems(specProblems, settings, flagProblems)];
  if (problems.length > 0 || !spec) throw flagError(problems);
  return spec;
}

/** The rendered plan plus init's own files; fleet.yaml goes in last. */
function withScaffold(rendered: Plan, scaffold: Map<string, string>, credentials: Map<string, string>): Plan {
  const contents = new Map([...rendered.contents, ...credentials]);
  for (const [rel, content] of scaffold) if (rel !== "fleet.yaml") contents.set(rel, content);
  contents.set("fleet.yaml", scaffold.get("fleet.yaml") as string);
  return { ...rendered, create: [...contents.keys()], contents };
}

/** The steps name files inside the fleet: run them there. */
function startIn(dir: string): string[] {
  if (dir === path.resolve(process.cwd())) return [];
  return [`cd ${/^[\w./-]+$/.test(dir) ? dir : `'${dir.replaceAll("'", `'\\''`)}'`}`];
}

function nextSteps(s: InitSettings): string[] {
  return [
    "# once, with network access: lock the promfleet package.json pins (the release the workflows' actions run), then commit package-lock.json",
    "npm install --package-lock-only --ignore-scripts",
    `# create the GitHub environment ${FLEET_ENVIRONMENT}, deployable from the default branch only, with the secret PROMFLEET_AGGREGATOR_PASSWORD (see promfleet's README, "Starting a fleet repository")`,
    ...(s.codeowners.length === 0
      ? ["# name the reviewers in .github/CODEOWNERS (promfleet init --codeowner @org/team writes them)"]
      : []),
  ];
}

function report(
  dir: string,
  plan: Plan,
  resolved: ResolvedFiles,
  settings: InitSettings,
  credentialSteps: string[],
  out: Output,
): void {
  const steps = [...credentialSteps, ...nextSteps(settings)];
  const files = [...plan.contents.keys()].sort();
  out.result(
    { dir, files, kept: resolved.kept, merged: resolved.merged, nextSteps: steps },
    `fleet created in ${dir}`,
  );
  for (const rel of resolved.kept) out.info(`kept your ${rel}`);
  for (const rel of resolved.merged) out.info(`added promfleet's lines to your ${rel}`);
  if (settings.codeowners.length === 0)
    out.warn("no --codeowner: .github/CODEOWNERS has its rules commented out until you name the reviewers");
  for (const step of steps) out.info(`next: ${step}`);
}
