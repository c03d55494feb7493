import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument, type Document } from "yaml";
import { loadFleet, parseFleet } from "../fleet/load.js";
import type { FleetSpec } from "../fleet/spec.js";
import { snapshotBase, type BaseSnapshot } from "../github/base-snapshot.js";
import { connectGitHub, type GitHub } from "../github/client.js";
import { findOpenPull, proposeChange, type OpenPull } from "../github/pull-request.js";
import { resolveRepo } from "../github/repo-ref.js";
import { renderTemplate } from "../github/templates.js";
import { applyPlan, recoverInterrupted } from "../layout/transaction.js";
import { planTree } from "../layout/tree.js";
import { inputsAfterChange, readRenderInputs, renderFleet } from "../render/render.js";
import { writeCredentialFiles, type CredentialFiles } from "../secrets/credentials.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode } from "../util/errors.js";
import type { Output } from "../util/output.js";
import type { GlobalOptions } from "./action.js";

export interface ChangeOptions extends GlobalOptions {
  pr?: boolean;
  repo?: string;
  base?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Where the change is computed: the working tree, or a snapshot of the base branch for a pull request. */
export interface ChangeContext {
  root: string;
  file: string;
  doc: Document;
  /** The spec as it is before the change. */
  before: FleetSpec;
  /** The open pull request of an earlier run of the same change, if any. */
  open?: OpenPull;
  gh?: GitHub;
}

/** What an onboard or offboard decides; nothing is written until it is applied. */
export interface ClusterChange {
  cluster: string;
  kind: "onboard" | "offboard";
  /** Set when there is nothing to do (already onboarded, already gone); the command exits 0. */
  nothingToDo?: string;
  credentials?: CredentialFiles;
  /** Repository files the change deletes beyond what render removes (the encrypted credential). */
  alsoDelete?: string[];
  labels: string[];
  template: Record<string, unknown>;
}

export type DecideChange = (ctx: ChangeContext) => Promise<ClusterChange>;

interface Outcome {
  cluster: string;
  action: string;
  files: string[];
  nextSteps: string[];
  written: boolean;
  pr?: { number: number; url: string; outcome: string };
  requests?: number;
  message?: string;
}

/** Runs an onboard/offboard: decide, render, then write the working tree or open one pull request. */
export async function runClusterChange(o: ChangeOptions, decide: DecideChange, out: Output): Promise<number> {
  const outcome = o.pr ? await viaPullRequest(o, decide, out) : await inWorkingTree(o, decide, out);
  const lines = outcome.message
    ? [outcome.message]
    : [
        ...outcome.files.map((f) => `  ${f}`),
        ...(outcome.pr
          ? [`pull request #${outcome.pr.number} (${outcome.pr.outcome}): ${outcome.pr.url}`]
          : []),
      ];
  out.result(outcome, lines.join("\n"));
  for (const step of outcome.nextSteps) out.info(`next: ${step}`);
  return ExitCode.ok;
}

async function inWorkingTree(o: ChangeOptions, decide: DecideChange, out: Output): Promise<Outcome> {
  if (!o.dryRun) await recoverInterrupted(o.dir);
  const ctx = await contextAt(o.dir, o.fleet);
  const change = await decide(ctx);
  if (change.nothingToDo) return noop(change);
  const { specText, plan, files } = await renderChange(ctx, change);
  const outcome: Outcome = {
    cluster: change.cluster,
    action: change.kind,
    files: [...files.keys()],
    nextSteps: change.credentials?.nextSteps ?? [],
    written: !o.dryRun,
  };
  if (o.dryRun) {
    out.info(`dry run: nothing written; ${specDiff(ctx.doc.toString(), specText)}`);
    return outcome;
  }
  await applyPlan(o.dir, { ...plan, remove: [...plan.remove, ...(change.alsoDelete ?? [])] });
  if (change.credentials) await writeCredentialFiles(change.credentials, o.dir);
  await writeFileAtomic(path.join(o.dir, ctx.file), specText);
  return outcome;
}

async function viaPullRequest(o: ChangeOptions, decide: DecideChange, out: Output): Promise<Outcome> {
  const local = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const gh = await connectGitHub(await resolveRepo(o.repo, local));
  const base = o.base ?? local.git.branch;
  const snapshot = await snapshotBase(gh, base);
  try {
    const first = { ...(await contextAt(snapshot.dir, o.fleet)), gh };
    const probe = await decide(first);
    if (probe.nothingToDo) return { ...noop(probe), requests: gh.requests() };
    const branch = `promfleet/${probe.kind}-${probe.cluster}`;
    const open = await findOpenPull(gh, base, branch);
    // A re-run decides again, from a fresh spec, knowing the open pull request (to keep its credential).
    const ctx = open ? { ...(await contextAt(snapshot.dir, o.fleet)), gh, open } : first;
    const change = open ? await decide(ctx) : probe;
    return await openPullRequest(o, ctx, change, { gh, base, branch, snapshot }, out);
  } finally {
    await snapshot.cleanup();
  }
}

async function openPullRequest(
  o: ChangeOptions,
  ctx: ChangeContext,
  change: ClusterChange,
  target: { gh: GitHub; base: string; branch: string; snapshot: BaseSnapshot },
  out: Output,
): Promise<Outcome> {
  const { specText, files } = await renderChange(ctx, change);
  const context = {
    ...change.template,
    cluster: change.cluster,
    fleetFile: ctx.file,
    files: [...files.keys()],
    credentialSteps: change.credentials?.nextSteps ?? [],
  };
  const title = (await renderTemplate(ctx.root, `${change.kind}-title`, context)).trim();
  const body = await renderTemplate(ctx.root, `${change.kind}-body`, context);
  const outcome: Outcome = {
    cluster: change.cluster,
    action: change.kind,
    files: [...files.keys()],
    nextSteps: change.credentials?.nextSteps ?? [],
    written: false,
  };
  if (o.dryRun) {
    out.info(
      `dry run: would push ${target.branch} and open "${title}"; ${specDiff(ctx.doc.toString(), specText)}`,
    );
    return { ...outcome, requests: target.gh.requests() };
  }
  if (change.credentials) await writeCredentialFiles({ ...change.credentials, repo: new Map() }, o.dir);
  const result = await proposeChange(
    target.gh,
    target.snapshot,
    { base: target.base, branch: target.branch, files, message: title, title, body, labels: change.labels },
    ctx.open,
  );
  return {
    ...outcome,
    written: true,
    pr: { ...result.pr, outcome: result.outcome },
    requests: target.gh.requests(),
  };
}

async function contextAt(root: string, file: string): Promise<ChangeContext> {
  const text = await readFile(path.join(root, file), "utf8");
  const before = await parseFleet(text, root, file, { requireCredentials: false });
  return { root, file, doc: parseDocument(text), before };
}

/** The new spec, the render plan against `ctx.root`, and every repository file the change touches. */
async function renderChange(ctx: ChangeContext, change: ClusterChange) {
  const specText = ctx.doc.toString();
  const spec = await parseFleet(specText, ctx.root, ctx.file);
  const inputs = inputsAfterChange(
    await readRenderInputs(spec),
    change.credentials?.repo.keys() ?? [],
    change.alsoDelete,
  );
  const rendered = await renderFleet(spec, inputs);
  const plan = await planTree(ctx.root, rendered.files);
  const files = new Map<string, string | null>([[ctx.file, specText]]);
  for (const [rel, content] of plan.contents) files.set(rel, content);
  for (const rel of [...plan.remove, ...(change.alsoDelete ?? [])]) files.set(rel, null);
  for (const [rel, content] of change.credentials?.repo ?? []) files.set(rel, content);
  return { specText, plan, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

function noop(change: ClusterChange): Outcome {
  return {
    cluster: change.cluster,
    action: change.kind,
    files: [],
    nextSteps: [],
    written: false,
    message: change.nothingToDo,
  };
}

function specDiff(before: string, after: string): string {
  const old = new Set(before.split("\n"));
  const added = after.split("\n").filter((l) => !old.has(l));
  const kept = new Set(after.split("\n"));
  const removed = before.split("\n").filter((l) => !kept.has(l));
  return `fleet spec: +${added.length} -${removed.length} lines`;
}
