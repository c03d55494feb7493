import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatDiff } from "../diff/format.js";
import { filesAtRef } from "../diff/git-tree.js";
import { diffTrees, type ClusterDiff } from "../diff/semantic.js";
import { loadFleet } from "../fleet/load.js";
import { snapshotBase } from "../github/base-snapshot.js";
import { connectGitHub, type GitHub } from "../github/client.js";
import { readEvent, repoFromEnv } from "../github/event.js";
import { findOpenPull, proposeChange } from "../github/pull-request.js";
import { resolveRepo } from "../github/repo-ref.js";
import { renderTemplate } from "../github/templates.js";
import { hasChanges, planTree } from "../layout/tree.js";
import { readRenderInputs, renderFleet } from "../render/render.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import { action, type GlobalOptions } from "./action.js";

interface CommonFlags extends GlobalOptions {
  repo?: string;
  json?: boolean;
}

const REVIEW_MARKER = "<!-- promfleet:review -->";
const DRIFT_BRANCH = "promfleet/fix-drift";

async function github(o: CommonFlags): Promise<GitHub> {
  const fromEnv = repoFromEnv(o.repo);
  return connectGitHub(
    fromEnv ?? (await resolveRepo(o.repo, await loadFleet(o.dir, o.fleet, { requireCredentials: false }))),
  );
}

export function registerWorkflowCommands(program: Command): void {
  program
    .command("pr-comment")
    .description("create or update the one promfleet review comment on a pull request")
    .option("--render <file>", "output of render --check --json")
    .option("--validate <file>", "output of validate --json")
    .option("--diff <file>", "output of diff --format json")
    .option("--pr <number>", "pull request number (default: from GITHUB_EVENT_PATH)")
    .option("--repo <owner/name>", "repository (default: GITHUB_REPOSITORY, then the origin remote)")
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<CommonFlags & { render?: string; validate?: string; diff?: string; pr?: string }>((o) =>
        prComment(o, createOutput(Boolean(o.json))),
      ),
    );

  program
    .command("record-deployments")
    .description("record a GitHub deployment (environment = cluster) for every cluster a push changed")
    .requiredOption("--before <sha>", "commit before the push (all zeros for a new branch)")
    .requiredOption("--after <sha>", "commit after the push")
    .option("--repo <owner/name>", "repository (default: GITHUB_REPOSITORY, then the origin remote)")
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<CommonFlags & { before: string; after: string }>((o) =>
        recordDeployments(o, createOutput(Boolean(o.json))),
      ),
    );

  program
    .command("fix-drift")
    .description(
      "if clusters/ on the base branch is out of date with its spec, open or update one fix-up pull request",
    )
    .option("--base <branch>", "branch to check (default: the spec's git.branch)")
    .option("--repo <owner/name>", "repository (default: GITHUB_REPOSITORY, then the origin remote)")
    .option("--json", "print the result as JSON on stdout")
    .action(action<CommonFlags & { base?: string }>((o) => fixDrift(o, createOutput(Boolean(o.json)))));
}

async function readJson(file: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!file) return undefined;
  return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
}

async function prComment(
  o: CommonFlags & { render?: string; validate?: string; diff?: string; pr?: string },
  out: Output,
): Promise<number> {
  const event = await readEvent();
  const number = Number(
    o.pr ??
      (event.pull_request as { number?: number } | undefined)?.number ??
      (event as { number?: number }).number,
  );
  if (!Number.isInteger(number) || number <= 0)
    throw new PromfleetError(
      "no pull request number: pass --pr or run on a pull_request event",
      ExitCode.badInput,
    );
  const [render, validation, diff] = [
    await readJson(o.render),
    await readJson(o.validate),
    await readJson(o.diff),
  ];
  const body = await renderTemplate(o.dir, "review-comment", reviewContext(render, validation, diff));
  const gh = await github(o);
  const comments = await gh.step("listing the pull request's comments", () =>
    gh.octokit.paginate(gh.octokit.rest.issues.listComments, {
      owner: gh.owner,
      repo: gh.repo,
      issue_number: number,
      per_page: 100,
    }),
  );
  const mine = comments.find((c) => c.body?.startsWith(REVIEW_MARKER));
  if (mine && mine.body === body)
    out.result({ comment: mine.id, outcome: "unchanged" }, `comment ${mine.html_url} is up to date`);
  else if (mine) {
    await gh.step("updating the review comment", () =>
      gh.octokit.rest.issues.updateComment({ owner: gh.owner, repo: gh.repo, comment_id: mine.id, body }),
    );
    out.result({ comment: mine.id, outcome: "updated" }, `updated ${mine.html_url}`);
  } else {
    const { data } = await gh.step("adding the review comment", () =>
      gh.octokit.rest.issues.createComment({ owner: gh.owner, repo: gh.repo, issue_number: number, body }),
    );
    out.result({ comment: data.id, outcome: "created" }, `created ${data.html_url}`);
  }
  return ExitCode.ok;
}

type ValidationReport = {
  clusters?: Array<{
    name: string;
    checks: Array<{ check: string; ok: boolean; file: string; message?: string }>;
  }>;
  ok?: boolean;
};

function reviewContext(
  render?: Record<string, unknown>,
  validation?: Record<string, unknown>,
  diff?: Record<string, unknown>,
) {
  const renderError = render?.error as string | undefined;
  const renderProblems = (
    (render?.problems as Array<{ file: string; path?: string; message: string }> | undefined) ?? []
  ).map((p) => `${p.file}${p.path ? ` ${p.path}` : ""}: ${p.message}`);
  const drift = renderError
    ? []
    : [
        ...((render?.created as string[]) ?? []),
        ...((render?.updated as string[]) ?? []),
        ...((render?.removed as string[]) ?? []),
      ];
  const report = validation as ValidationReport | undefined;
  const rows = (report?.clusters ?? []).flatMap((c) => c.checks.map((k) => ({ cluster: c.name, ...k })));
  const validationError = (validation as { error?: string } | undefined)?.error;
  const failing = rows.some((r) => !r.ok) || Boolean(validationError);
  return {
    ok: !renderError && drift.length === 0 && !failing,
    renderError,
    renderProblems,
    drift,
    validation: validationError
      ? [{ cluster: "fleet", check: "validate", file: "", ok: false, message: validationError }]
      : rows,
    diff: formatDiff((diff?.clusters as ClusterDiff[] | undefined) ?? [], "markdown"),
  };
}

async function recordDeployments(
  o: CommonFlags & { before: string; after: string },
  out: Output,
): Promise<number> {
  const before = /^0+$/.test(o.before) ? new Map<string, string>() : await filesAtRef(o.dir, o.before);
  const changed = diffTrees(before, await filesAtRef(o.dir, o.after)).filter((d) => d.status !== "removed");
  if (changed.length === 0) {
    out.result({ deployments: [] }, "no cluster changed; no deployment recorded");
    return ExitCode.ok;
  }
  const gh = await github(o);
  const recorded = [];
  for (const d of changed) {
    const { data } = await gh.step(`recording the deployment to ${d.cluster}`, () =>
      gh.octokit.rest.repos.createDeployment({
        owner: gh.owner,
        repo: gh.repo,
        ref: o.after,
        environment: d.cluster,
        auto_merge: false,
        required_contexts: [],
        description: `promfleet: ${d.status} (${d.changes.length} changes)`.slice(0, 140),
        payload: { changes: d.changes.slice(0, 50) },
      }),
    );
    const id = (data as { id: number }).id;
    await gh.step(`marking the deployment to ${d.cluster}`, () =>
      gh.octokit.rest.repos.createDeploymentStatus({
        owner: gh.owner,
        repo: gh.repo,
        deployment_id: id,
        state: "success",
        description: "merged; the cluster's delivery syncs it",
      }),
    );
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
  const snapshot = await snapshotBase(gh, base);
  try {
    const spec = await loadFleet(snapshot.dir, o.fleet);
    const plan = await planTree(snapshot.dir, (await renderFleet(spec, await readRenderInputs(spec))).files);
    if (!hasChanges(plan)) {
      out.result({ drift: false }, `no drift on ${base}`);
      return ExitCode.ok;
    }
    const files = new Map<string, string | null>([
      ...plan.contents,
      ...plan.remove.map((f) => [f, null] as const),
    ]);
    const changed = [...files.keys()];
    const title = `promfleet: re-render clusters/ after ${snapshot.sha.slice(0, 7)}`;
    const body = `${base} was changed without re-rendering (fleet.yaml or overlays/ edited by hand). This pull request holds the re-rendered files:\n\n${changed.map((f) => `- \`${f}\``).join("\n")}\n`;
    const open = await findOpenPull(gh, base, DRIFT_BRANCH);
    const result = await proposeChange(
      gh,
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
