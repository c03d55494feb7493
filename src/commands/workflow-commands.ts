/** The commands the workflows run: pr-comment, record-deployments, fix-drift. */
import type { Command } from "commander";
import { parse } from "yaml";
import { filesAtRef } from "../diff/git-tree.js";
import { diffTrees } from "../diff/semantic.js";
import { loadFleet } from "../fleet/load.js";
import { connectGitHub, type GitHub } from "../github/client.js";
import { readEvent } from "../github/event.js";
import type { PullState } from "../github/pull-request.js";
import { resolveRepoAt } from "../github/repo-ref.js";
import { REVIEW_MARKER, reviewDocuments, strayFolders, type ReviewInputs } from "../github/review.js";
import { readInput, type PullRequestFacts } from "../github/review-inputs.js";
import { builtInTemplate, renderTemplateSource } from "../github/templates.js";
import { deleteFile, writeFile } from "../layout/file-change.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { hasChanges, planTree } from "../layout/tree.js";
import { readRenderInputs, renderFleet } from "../render/render.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { inlineCode } from "../util/markdown.js";
import { createOutput, type Output } from "../util/output.js";
import { action, type GlobalOptions } from "./action.js";

interface CommonFlags extends GlobalOptions {
  repo?: string;
  json?: boolean;
}

interface CommentFlags extends CommonFlags {
  render?: string;
  validate?: string;
  diff?: string;
  pr?: string;
  pullRequestFile?: string;
  headSha?: string;
  summary?: string;
  report?: string;
}

const DRIFT_BRANCH = "promfleet/fix-drift";
/** The review comment's template on the base branch, which wins over promfleet's own. */
const REVIEW_TEMPLATE = "templates/pr/review-comment.hbs";
const REPO_HELP = "repository (default: GITHUB_REPOSITORY, then the origin remote)";
const SHA = /^[0-9a-f]{40}$/;

/**
 * The repository from --repo or GITHUB_REPOSITORY, else the origin remote or the spec's git.url; the API
 * from GITHUB_API_URL, else that remote. A named repository needs no fleet in the checkout (pr-comment
 * runs on a checkout of the base branch that may hold none).
 */
async function github(o: CommonFlags): Promise<GitHub> {
  const named = o.repo ?? (process.env.GITHUB_REPOSITORY || undefined);
  const specGitUrl = () =>
    loadFleet(o.dir, o.fleet, { requireCredentials: false }).then(
      (spec) => spec.git.url,
      (e: unknown) => {
        if (named) return "";
        throw e;
      },
    );
  return connectGitHub(await resolveRepoAt(named, o.dir, specGitUrl));
}

export function registerWorkflowCommands(program: Command): void {
  program
    .command("pr-comment")
    .description("create or update the one promfleet review comment on a pull request")
    .option("--render <file>", "output of render --check --json")
    .option("--validate <file>", "output of validate --json")
    .option("--diff <file>", "output of diff --format json")
    .option("--pr <number>", "pull request number (default: --pull-request-file, then GITHUB_EVENT_PATH)")
    .option("--pull-request-file <file>", 'the reviewed run\'s {"number", "headSha"} (untrusted; checked)')
    .option("--head-sha <sha>", "the head the results were computed for (default: from GITHUB_EVENT_PATH)")
    .option("--summary <file>", "write the report, cut to 1 MiB, here (default: GITHUB_STEP_SUMMARY)")
    .option("--report <file>", "write the full report (markdown) here, for an artifact")
    .option("--repo <owner/name>", REPO_HELP)
    .option("--json", "print the result as JSON on stdout")
    .action(action<CommentFlags>((o) => postReview(o, createOutput(Boolean(o.json)))));

  program
    .command("record-deployments")
    .description("record a GitHub deployment (environment = cluster) for every cluster a push changed")
    .option("--before <sha>", "commit before the push (all zeros for a new branch)")
    .option("--after <sha>", "commit after the push")
    .option("--repo <owner/name>", REPO_HELP)
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<CommonFlags & { before?: string; after?: string }>((o) =>
        recordDeployments(o, createOutput(Boolean(o.json))),
      ),
    );

  program
    .command("fix-drift")
    .description(
      "if clusters/ on the base branch is out of date with its spec, open or update one fix-up pull request",
    )
    .option("--base <branch>", "branch to check (default: the spec's git.branch)")
    .option("--repo <owner/name>", REPO_HELP)
    .option("--json", "print the result as JSON on stdout")
    .action(action<CommonFlags & { base?: string }>((o) => fixDrift(o, createOutput(Boolean(o.json)))));
}

/** Which pull request, and which head the results must belong to. */
interface ReviewTarget {
  number: number;
  /** From the trusted event (or --head-sha); undefined when run by hand without one. */
  head?: string;
}

async function reviewTarget(o: CommentFlags): Promise<ReviewTarget> {
  const event = (await readEvent()) as {
    pull_request?: { number?: number; head?: { sha?: string } };
    workflow_run?: { head_sha?: string; pull_requests?: Array<{ number?: number }> };
  };
  const facts = o.pullRequestFile
    ? await readInput<PullRequestFacts>("pull request", o.pullRequestFile)
    : undefined;
  if (facts && "problem" in facts)
    throw new PromfleetError(`--pull-request-file: ${facts.problem}`, ExitCode.badInput);
  const head = o.headSha ?? event.workflow_run?.head_sha ?? event.pull_request?.head?.sha;
  if (head !== undefined && !SHA.test(head))
    throw new PromfleetError(`--head-sha ${head} is not a full commit sha`, ExitCode.badInput);
  if (facts && head && facts.data.headSha !== head)
    throw new PromfleetError(
      `--pull-request-file names head ${facts.data.headSha}, but the run was for ${head}: the results are not this run's`,
      ExitCode.badInput,
    );
  const number = Number(
    o.pr ??
      facts?.data.number ??
      event.pull_request?.number ??
      event.workflow_run?.pull_requests?.[0]?.number,
  );
  if (!Number.isInteger(number) || number <= 0)
    throw new PromfleetError(
      "no pull request number: pass --pr or --pull-request-file, or run on a pull_request or workflow_run event",
      ExitCode.badInput,
    );
  return { number, head: head ?? facts?.data.headSha };
}

/** Why the comment must not be posted for this pull request now, if it must not. */
function staleBecause(pull: PullState, target: ReviewTarget): string | undefined {
  if (pull.state !== "open") return `pull request #${pull.number} is closed`;
  if (target.head && pull.headSha !== target.head)
    return `pull request #${pull.number} moved on to ${pull.headSha.slice(0, 12)}; the results are for ${target.head.slice(0, 12)}, and the run for the new head comments`;
  return undefined;
}

async function postReview(o: CommentFlags, out: Output): Promise<number> {
  const target = await reviewTarget(o);
  const gh = await github(o);
  const pull = await gh.pull(target.number);
  const stale = staleBecause(pull, target);
  if (stale) {
    out.result({ outcome: "skipped", reason: stale }, `nothing posted: ${stale}`);
    return ExitCode.ok;
  }
  const inputs: ReviewInputs = {
    render: await readInput("render", o.render),
    validate: await readInput("validate", o.validate),
    diff: await readInput("diff", o.diff),
    strayFolders: await strayFoldersAt(gh, o.fleet, pull.headSha),
  };
  const template =
    (await gh.readFile(REVIEW_TEMPLATE, pull.baseSha)) ?? (await builtInTemplate("review-comment"));
  const documents = await reviewDocuments(inputs, (c) => renderTemplateSource(template, c), runUrl());
  const summary = o.summary ?? (process.env.GITHUB_STEP_SUMMARY || undefined);
  if (summary) await writeFileAtomic(summary, documents.summary);
  if (o.report) await writeFileAtomic(o.report, documents.report);
  const comment = await gh.ensureComment(pull.number, REVIEW_MARKER, documents.comment);
  const { ok, unreadable } = documents.context;
  out.result(
    { comment: comment.id, outcome: comment.outcome, ok },
    `${comment.outcome} ${comment.url}${ok ? "" : " (the review found problems)"}`,
  );
  // A result file the review did not write is a failed review job, not a finding: fail this job too.
  return unreadable.length > 0 ? ExitCode.checkFailed : ExitCode.ok;
}

/** This Actions run's page, which holds the job summary and the report artifact; from the runner's own variables. */
function runUrl(): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = process.env;
  const valid =
    /^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(server ?? "") &&
    /^[\w.-]+\/[\w.-]+$/.test(repo ?? "") &&
    /^\d+$/.test(run ?? "");
  return valid ? `${server}/${repo}/actions/runs/${run}` : undefined;
}

/** Folders under clusters/ at the head that are no cluster of the head's spec, read from GitHub itself. */
async function strayFoldersAt(
  gh: GitHub,
  specFile: string,
  sha: string,
): Promise<ReviewInputs["strayFolders"]> {
  const spec = await gh.readFile(specFile, sha);
  if (spec === undefined) return { problem: `${specFile} does not exist at ${sha.slice(0, 12)}` };
  let names: string[];
  try {
    const clusters = (parse(spec) as { clusters?: unknown } | null)?.clusters;
    names = Array.isArray(clusters) ? clusters.map((c) => String((c as { name?: unknown })?.name)) : [];
  } catch {
    return { problem: `${specFile} at ${sha.slice(0, 12)} is not YAML` };
  }
  return { folders: strayFolders((await gh.subfolders(CLUSTERS_DIR, sha)) ?? [], names) };
}

async function recordDeployments(
  o: CommonFlags & { before?: string; after?: string },
  out: Output,
): Promise<number> {
  const [before, after] = [o.before, o.after];
  if (!before || !after)
    throw new PromfleetError("record-deployments needs --before <sha> and --after <sha>", ExitCode.badInput);
  const beforeFiles = /^0+$/.test(before) ? new Map<string, string>() : await filesAtRef(o.dir, before);
  const changed = diffTrees(beforeFiles, await filesAtRef(o.dir, after)).filter(
    (d) => d.status !== "removed",
  );
  if (changed.length === 0) {
    out.result({ deployments: [] }, "no cluster changed; no deployment recorded");
    return ExitCode.ok;
  }
  const gh = await github(o);
  const recorded = [];
  for (const d of changed) {
    const id = await gh.createDeployment({
      ref: after,
      environment: d.cluster,
      description: `promfleet: ${d.status} (${d.changes.length} changes)`,
      payload: { changes: d.changes.slice(0, 50) },
      state: "success",
      statusDescription: "merged; the cluster's delivery syncs it",
    });
    recorded.push({ cluster: d.cluster, deployment: id });
  }
  out.result(
    { deployments: recorded },
    recorded.map((r) => `deployment ${r.deployment} → ${r.cluster}`).join("\n"),
  );
  return ExitCode.ok;
}

async function fixDrift(o: CommonFlags & { base?: string }, out: Output): Promise<number> {
  const gh = await github(o);
  const local = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const base = o.base ?? local.git.branch;
  const snapshot = await gh.snapshotBase(base);
  try {
    const spec = await loadFleet(snapshot.dir, o.fleet);
    const plan = await planTree(snapshot.dir, (await renderFleet(spec, await readRenderInputs(spec))).files);
    if (!hasChanges(plan)) {
      out.result({ drift: false }, `no drift on ${base}`);
      return ExitCode.ok;
    }
    const files = [
      ...[...plan.contents].map(([path, content]) => writeFile(path, content)),
      ...plan.remove.map((path) => deleteFile(path)),
    ];
    const changed = files.map((f) => f.path).sort();
    const title = `promfleet: re-render clusters/ after ${snapshot.sha.slice(0, 7)}`;
    const body = `${base} was changed without re-rendering (fleet.yaml or overlays/ edited by hand). This pull request holds the re-rendered files:\n\n${changed.map((f) => `- ${inlineCode(f)}`).join("\n")}\n`;
    const open = await gh.findOpenPull(base, DRIFT_BRANCH);
    const result = await gh.proposeChange(
      snapshot,
      { base, branch: DRIFT_BRANCH, files, message: title, title, body, labels: ["promfleet", "drift"] },
      open,
    );
    out.result(
      { drift: true, files: changed, pr: { ...result.pr, outcome: result.outcome } },
      `drift on ${base}: pull request #${result.pr.number} (${result.outcome}) ${result.pr.url}`,
    );
    return ExitCode.ok;
  } finally {
    await snapshot.cleanup();
  }
}
