/**
 * Cluster changes (onboard, offboard): reading the spec once, planning files, and applying a plan to the
 * working tree or as one pull request.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { loadFleet, parseFleet, readFleetText } from "../fleet/load.js";
import { readPlainYamlShared } from "../fleet/plain-yaml.js";
import { specValueStore } from "../fleet/spec-cache.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
// the GitHub modules (octokit, handlebars, execa) are imported where a pull request needs them: a
// local change never pays for them
import type { BaseSnapshot } from "../github/base-snapshot.js";
import type { GitHub } from "../github/client.js";
import type { OpenPull } from "../github/pull-request.js";
import { deleteFile, normaliseChanges, writeFile, type FileChange } from "../layout/file-change.js";
import { withRepoLock } from "../layout/repo-lock.js";
import { applyPlan, recoverInterrupted } from "../layout/transaction.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { planTree, readClusterFolders, readClusterTree, type Plan } from "../layout/tree.js";
import { inputsAfterChange, readRenderInputs, renderChanged } from "../render/render.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { appliedFiles } from "../ytt/stage.js";
import { ExitCode } from "../util/errors.js";
import type { Output } from "../util/output.js";
import type { GlobalOptions } from "./action.js";
import { changedLines } from "../util/changed-lines.js";

export interface ChangeOptions extends GlobalOptions {
  pr?: boolean;
  repo?: string;
  base?: string;
  dryRun?: boolean;
  json?: boolean;
}

export type ChangeKind = "onboard" | "offboard";

/** A fleet spec as read before a change: where it lives, its text, and that text parsed once. */
export interface SpecSource {
  /** The fleet root the change is planned in: the working tree, or a snapshot of the base branch. */
  root: string;
  /** The spec's path relative to root. */
  file: string;
  text: string;
  before: FleetSpec;
  /** The text's value as the schema checked it, when the fast reader read it (see planFiles). */
  checked?: unknown;
}

/** Repository paths a change adds, modifies and removes, as a reviewer reads them. */
export interface FileListing {
  added: string[];
  modified: string[];
  removed: string[];
}

/**
 * Everything an onboard or offboard decides, computed without writing anything; applying it (the
 * working tree, or one pull request) is a separate step.
 */
export interface ChangePlan {
  kind: ChangeKind;
  cluster: string;
  /** Set when the fleet already is as asked: the command exits 0 and writes nothing. */
  alreadyDone?: string;
  /** The spec's path, repository-relative. */
  specFile: string;
  specBefore: string;
  specAfter: string;
  /** Repository files: the spec, the rendered tree, an encrypted credential; deletions included. */
  changes: FileChange[];
  /** Files for this machine only, outside Git (a password to load by hand, mode 0600). */
  local: FileChange[];
  listing: FileListing;
  labels: string[];
  /** What the pull request's title and body templates are rendered with. */
  template: Record<string, unknown>;
  nextSteps: string[];
  /** Things the person should know about how the plan was made (e.g. why a credential was minted). */
  notes: string[];
}

/** Where a pull request goes, and the open one of an earlier run of the same change. */
export interface PullTarget {
  gh: GitHub;
  base: string;
  branch: string;
  snapshot: BaseSnapshot;
  open?: OpenPull;
  /** The local fleet root (the working tree) the command was run in. */
  workTree: string;
}

/** One cluster-change command: how it plans in the working tree, and against a base branch. */
export interface ClusterCommand {
  kind: ChangeKind;
  cluster: string;
  planLocal(source: SpecSource): Promise<ChangePlan>;
  planPull(source: SpecSource, target: PullTarget): Promise<ChangePlan>;
}

interface Outcome extends FileListing {
  cluster: string;
  action: ChangeKind;
  /** Every repository path the change touches, sorted (added, modified and removed ones). */
  files: string[];
  nextSteps: string[];
  notes: string[];
  written: boolean;
  pr?: { number: number; url: string; outcome: string };
  requests?: number;
  message?: string;
}

/** Reads and validates the spec once (a credential may still be missing: the change may add it). */
export async function readSpec(root: string, file: string): Promise<SpecSource> {
  const { text, file: rel } = await readFleetText(root, file);
  const before = await parseFleet(text, root, rel, { requireCredentials: false });
  return { root, file: rel, text, before, checked: readPlainYamlShared(text) };
}

/** A plan that changes nothing, because the fleet already is as asked. */
export function alreadyDonePlan(
  kind: ChangeKind,
  source: SpecSource,
  cluster: string,
  why: string,
): ChangePlan {
  return {
    kind,
    cluster,
    alreadyDone: `already done: ${why}; nothing to do`,
    specFile: source.file,
    specBefore: source.text,
    specAfter: source.text,
    changes: [],
    local: [],
    listing: { added: [], modified: [], removed: [] },
    labels: [],
    template: {},
    nextSteps: [],
    notes: [],
  };
}

/**
 * The repository files of a change: the new spec, the clusters it touches rendered from it and compared
 * with their folders at `source.root`, and extra files (credentials, overlays; computed from the parsed
 * new spec when a function). `existed` says which paths the base has, to list a write as added or
 * modified; `edited` names the only clusters whose entries the new spec changes, when the caller knows
 * (else every entry is compared). `rendered` lists the rendered files it writes.
 */
export async function planFiles(
  source: SpecSource,
  specAfter: string,
  extraFiles: FileChange[] | ((spec: FleetSpec) => Promise<FileChange[]>),
  existed: (rel: string) => boolean = (rel) => existsSync(path.join(source.root, rel)),
  edited?: readonly string[],
): Promise<{ spec: FleetSpec; changes: FileChange[]; listing: FileListing; rendered: string[] }> {
  // an edit keeps the entries it did not change, object for object: only its own are schema-checked
  const spec = await parseFleet(specAfter, source.root, source.file, { passedSchema: source.checked });
  const extra = typeof extraFiles === "function" ? await extraFiles(spec) : extraFiles;
  const written = extra.filter((c) => c.kind === "write").map((c) => c.path);
  const touched = touchedClusters(source.before, spec, written, edited);
  // credentials the change itself writes or deletes are render inputs too (a Flux kustomization lists
  // them); only the touched clusters' are read
  const inputs = inputsAfterChange(
    await readRenderInputs(touched ? { ...spec, clusters: touched.render } : spec),
    written,
    extra.filter((c) => c.kind === "delete").map((c) => c.path),
  );
  const current = touched ? readClusterFolders(source.root, touched.folders) : readClusterTree(source.root);
  const { fleet } = await renderChanged(spec, inputs, current, undefined, touched?.render);
  const tree = await planTree(source.root, fleet.files, current);
  const changes = normaliseChanges([
    ...(specAfter === source.text ? [] : [writeFile(source.file, specAfter)]),
    ...[...tree.contents].map(([rel, content]) => writeFile(rel, content)),
    ...tree.remove.map(deleteFile),
    ...extra,
  ]);
  return { spec, changes, listing: listChanges(changes, existed), rendered: [...tree.contents.keys()] };
}

/**
 * The clusters a change renders (`render`) and whose folders it reads (`folders`, removed clusters'
 * included): those whose spec entry it adds, changes or removes, the aggregator when its web config
 * lists every credential, and those applying a file the change writes. These are the clusters whose
 * render fingerprint (src/render/fingerprint.ts) the change can alter, so every other folder's render
 * record stays exactly as true as it was. Undefined when a fleet-level field changes: the whole tree.
 * `edited`, when given, names the only entries that differ (comparing 10,000 entries costs ~50 ms).
 */
export function touchedClusters(
  before: FleetSpec,
  after: FleetSpec,
  written: readonly string[],
  edited?: readonly string[],
): { render: ClusterSpec[]; folders: string[] } | undefined {
  if (!isDeepStrictEqual({ ...before, clusters: [] }, { ...after, clusters: [] })) return undefined;
  const afterNames = new Set(after.clusters.map((c) => c.name));
  const removed = (edited ?? before.clusters.map((c) => c.name)).filter((name) => !afterNames.has(name));
  const changed = new Set(edited ?? changedEntries(before, after));
  const credentials = changed.size + removed.length > 0 && after.remoteWrite.auth === "basic";
  const files = new Set(written.filter((rel) => !rel.startsWith(`${CLUSTERS_DIR}/`)));
  const render = after.clusters.filter(
    (c) =>
      changed.has(c.name) ||
      (credentials && c.role === "aggregator") ||
      (files.size > 0 && appliedFiles(after, c).some((f) => files.has(f))),
  );
  return { render, folders: [...render.map((c) => c.name), ...removed] };
}

/** Clusters whose entry differs, as JSON, as the fingerprint reads them (a key order only costs a render). */
function changedEntries(before: FleetSpec, after: FleetSpec): string[] {
  const old = new Map(before.clusters.map((c) => [c.name, JSON.stringify(c)]));
  return after.clusters.filter((c) => JSON.stringify(c) !== old.get(c.name)).map((c) => c.name);
}

function listChanges(changes: FileChange[], existed: (rel: string) => boolean): FileListing {
  const listing: FileListing = { added: [], modified: [], removed: [] };
  for (const c of changes) {
    const list = c.kind === "delete" ? listing.removed : existed(c.path) ? listing.modified : listing.added;
    list.push(c.path);
  }
  return listing;
}

/** Runs an onboard/offboard: plan, then write the working tree or open one pull request. */
export async function runClusterChange(o: ChangeOptions, cmd: ClusterCommand, out: Output): Promise<number> {
  const outcome = o.pr ? await viaPullRequest(o, cmd, out) : await inWorkingTree(o, cmd, out);
  for (const note of outcome.notes) out.warn(note);
  out.result(outcome, outcomeText(outcome));
  for (const step of outcome.nextSteps) out.info(`next: ${step}`);
  return ExitCode.ok;
}

function outcomeText(outcome: Outcome): string {
  if (outcome.message) return outcome.message;
  const { added, modified, removed } = outcome;
  return [
    ...added.map((f) => `  added     ${f}`),
    ...modified.map((f) => `  modified  ${f}`),
    ...removed.map((f) => `  removed   ${f}`),
    ...(outcome.pr ? [`pull request #${outcome.pr.number} (${outcome.pr.outcome}): ${outcome.pr.url}`] : []),
  ].join("\n");
}

/** The change in the working tree; unless it is a dry run, holding the repository's lock from read to write. */
function inWorkingTree(o: ChangeOptions, cmd: ClusterCommand, out: Output): Promise<Outcome> {
  return o.dryRun
    ? changeWorkingTree(o, cmd, out)
    : withRepoLock(o.dir, `${cmd.kind}-cluster`, () => changeWorkingTree(o, cmd, out));
}

async function changeWorkingTree(o: ChangeOptions, cmd: ClusterCommand, out: Output): Promise<Outcome> {
  if (!o.dryRun) await recoverInterrupted(o.dir);
  const plan = await cmd.planLocal(await readSpec(o.dir, o.fleet));
  if (plan.alreadyDone) return alreadyDoneOutcome(plan);
  if (o.dryRun) {
    out.info(`dry run: nothing written; ${specDiff(plan.specBefore, plan.specAfter)}`);
    return { ...outcomeOf(plan), nextSteps: [], written: false };
  }
  await applyInWorkingTree(o.dir, plan);
  return outcomeOf(plan);
}

/**
 * Machine-only files first (a password file the spec's new hash needs), then every repository file in
 * one journaled apply, then machine-only deletions (a password whose hash the spec no longer holds).
 */
export async function applyInWorkingTree(
  root: string,
  plan: Pick<ChangePlan, "changes" | "local" | "specFile" | "specAfter">,
): Promise<void> {
  await writeLocalFiles(root, plan);
  await applyPlan(root, asTreePlan(plan.changes));
  for (const c of plan.local) if (c.kind === "delete") await rm(path.join(root, c.path), { force: true });
  if (plan.changes.some((c) => c.kind === "write" && c.path === plan.specFile))
    cacheWrittenSpec(root, plan.specFile, plan.specAfter);
}

/**
 * Hands the value of the spec just written to the spec cache (spec-cache.ts): the next command reads it
 * back as JSON instead of parsing the YAML (0.1 s at 1,000 clusters, 0.3 s at 10,000). planFiles read
 * that text (the edit proved most of its value without parsing it), so this parses nothing.
 */
function cacheWrittenSpec(root: string, file: string, text: string): void {
  const value = readPlainYamlShared(text);
  if (value !== undefined) specValueStore(path.resolve(root, file))?.set(text, value);
}

/** Machine-only files are secrets (a password): mode 0600, never through the shared staging folder. */
async function writeLocalFiles(root: string, plan: Pick<ChangePlan, "local">): Promise<void> {
  for (const c of plan.local)
    if (c.kind === "write") await writeFileAtomic(path.join(root, c.path), c.content, 0o600);
}

function asTreePlan(changes: FileChange[]): Plan {
  const writes = changes.flatMap((c) => (c.kind === "write" ? [c] : []));
  return {
    create: writes.map((c) => c.path),
    update: [],
    remove: changes.flatMap((c) => (c.kind === "delete" ? [c.path] : [])),
    unchanged: 0,
    contents: new Map(writes.map((c) => [c.path, c.content])),
  };
}

async function viaPullRequest(o: ChangeOptions, cmd: ClusterCommand, out: Output): Promise<Outcome> {
  const local = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const { connectGitHub } = await import("../github/client.js");
  const { resolveRepo } = await import("../github/repo-ref.js");
  const { snapshotBase } = await import("../github/base-snapshot.js");
  const { findOpenPull } = await import("../github/pull-request.js");
  const gh = await connectGitHub(await resolveRepo(o.repo, local));
  const base = o.base ?? local.git.branch;
  const snapshot = await snapshotBase(gh, base);
  try {
    const branch = `promfleet/${cmd.kind}-${cmd.cluster}`;
    const open = await findOpenPull(gh, base, branch);
    const target: PullTarget = { gh, base, branch, snapshot, open, workTree: o.dir };
    const plan = await cmd.planPull(await readSpec(snapshot.dir, o.fleet), target);
    if (plan.alreadyDone) return { ...alreadyDoneOutcome(plan), requests: gh.requests() };
    return await openPullRequest(o, plan, target, out);
  } finally {
    await snapshot.cleanup();
  }
}

/** Title and body of the plan's pull request, from the base branch's templates (never the PR's). */
export async function pullText(
  plan: ChangePlan,
  base: BaseSnapshot,
): Promise<{ title: string; body: string }> {
  const context = {
    ...plan.template,
    cluster: plan.cluster,
    fleetFile: plan.specFile,
    ...plan.listing,
    files: allPaths(plan.listing),
    credentialSteps: plan.nextSteps,
  };
  const { renderTemplate } = await import("../github/templates.js");
  const title = (await renderTemplate(base.dir, `${plan.kind}-title`, context)).trim();
  return { title, body: await renderTemplate(base.dir, `${plan.kind}-body`, context) };
}

/** The sha of the commit the pull request for `plan`, planned on the base `at`, gets. */
export async function commitOf(plan: ChangePlan, gh: GitHub, at: BaseSnapshot): Promise<string> {
  const { title } = await pullText(plan, at);
  return gh.commitFor(at, plan.changes, title);
}

async function openPullRequest(
  o: ChangeOptions,
  plan: ChangePlan,
  target: PullTarget,
  out: Output,
): Promise<Outcome> {
  const { title, body } = await pullText(plan, target.snapshot);
  const outcome = outcomeOf(plan);
  if (o.dryRun) {
    out.info(
      `dry run: would push ${target.branch} and open "${title}"; ${specDiff(plan.specBefore, plan.specAfter)}`,
    );
    return { ...outcome, nextSteps: [], written: false, requests: target.gh.requests() };
  }
  await writeLocalFiles(o.dir, plan);
  const { proposeChange } = await import("../github/pull-request.js");
  const result = await proposeChange(
    target.gh,
    target.snapshot,
    {
      base: target.base,
      branch: target.branch,
      files: plan.changes,
      message: title,
      title,
      body,
      labels: plan.labels,
    },
    target.open,
  );
  return {
    ...outcome,
    written: true,
    message:
      result.outcome === "unchanged"
        ? `already done: pull request #${result.pr.number} is open and up to date: ${result.pr.url}`
        : undefined,
    pr: { ...result.pr, outcome: result.outcome },
    requests: target.gh.requests(),
  };
}

function outcomeOf(plan: ChangePlan): Outcome {
  return {
    cluster: plan.cluster,
    action: plan.kind,
    ...plan.listing,
    files: allPaths(plan.listing),
    nextSteps: plan.nextSteps,
    notes: plan.notes,
    written: true,
  };
}

function allPaths(listing: FileListing): string[] {
  return [...listing.added, ...listing.modified, ...listing.removed].sort();
}

function alreadyDoneOutcome(plan: ChangePlan): Outcome {
  return { ...outcomeOf(plan), written: false, message: plan.alreadyDone };
}

/** Added and removed lines of the spec: promfleet's edits are one contiguous block. */
export function specDiff(before: string, after: string): string {
  const { added, removed } = changedLines(before, after);
  return `fleet spec: +${added.length} -${removed.length} lines`;
}
