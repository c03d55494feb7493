/** Pull request bookkeeping shared by routes and the test helpers. */
import type { FakeEnv } from "./context.js";
import { conflict, HttpError, errorBody, notFound } from "./errors.js";
import { pullFull, type PullView } from "./payloads/pulls.js";
import type { PullRecord } from "./state.js";
import { now } from "./state.js";

export function requirePull(env: FakeEnv, number: number): PullRecord {
  const pull = env.state.pull(number);
  if (!pull) throw notFound();
  return pull;
}

export async function branchSha(env: FakeEnv, branch: string): Promise<string | undefined> {
  return env.store.readRef(`refs/heads/${branch}`);
}

/** refreshes head sha from the branch while the PR is open (as GitHub does on push) */
export async function pullView(env: FakeEnv, pull: PullRecord): Promise<PullView> {
  if (pull.state === "open") pull.headSha = (await branchSha(env, pull.head)) ?? pull.headSha;
  const baseSha = (await branchSha(env, pull.base)) ?? "";
  const labels = pull.labels.map((l) => env.state.label(l));
  const openIssues = env.state.pulls.filter((p) => p.state === "open").length;
  return { pull, headSha: pull.headSha, baseSha, labels, openIssues };
}

export async function fullPull(env: FakeEnv, pull: PullRecord) {
  const v = await pullView(env, pull);
  const ok = v.baseSha && v.headSha;
  const [commits, diff] = ok
    ? await Promise.all([
        env.store.countCommits(v.baseSha, v.headSha),
        env.store.diffStats(v.baseSha, v.headSha),
      ])
    : [0, { files: 0, additions: 0, deletions: 0 }];
  const comments = env.state.comments.filter((c) => c.issueNumber === pull.number).length;
  return pullFull(env.site, v, {
    commits,
    additions: diff.additions,
    deletions: diff.deletions,
    changed_files: diff.files,
    comments,
  });
}

export type MergeMethod = "merge" | "squash" | "fast-forward-if-possible";

export interface MergeRequest {
  method: MergeMethod;
  title?: string;
  message?: string;
  expectedHeadSha?: string;
}

async function mergeCommit(
  env: FakeEnv,
  pull: PullRecord,
  baseSha: string,
  req: MergeRequest,
): Promise<string> {
  const tree = await env.store.mergeTree(baseSha, pull.headSha);
  if (!tree) throw new HttpError(405, errorBody(405, "Pull Request is not mergeable"));
  const title = req.title ?? `Merge pull request #${pull.number} from ${env.site.owner}/${pull.head}`;
  const message = `${title}\n\n${req.message ?? pull.title}`;
  const parents = req.method === "squash" ? [baseSha] : [baseSha, pull.headSha];
  const author = { ...env.user, date: new Date().toISOString() };
  return env.store.commitTree({ tree, parents, message, author });
}

/** merges an open pull request in git and marks it merged; returns the new base sha */
export async function mergePullRequest(env: FakeEnv, number: number, req: MergeRequest): Promise<string> {
  const pull = requirePull(env, number);
  await pullView(env, pull);
  if (pull.state !== "open") throw new HttpError(405, errorBody(405, "Pull Request is not mergeable"));
  if (req.expectedHeadSha && req.expectedHeadSha !== pull.headSha) {
    throw conflict("Head branch was modified. Review and try the merge again.");
  }
  const baseSha = await branchSha(env, pull.base);
  if (!baseSha) throw notFound("Base branch not found");
  const ff = req.method === "fast-forward-if-possible" && (await env.store.isAncestor(baseSha, pull.headSha));
  const sha = ff ? pull.headSha : await mergeCommit(env, pull, baseSha, req);
  await env.store.updateRef(`refs/heads/${pull.base}`, sha, baseSha);
  Object.assign(pull, {
    state: "closed",
    merged: true,
    mergeCommitSha: sha,
    mergedAt: now(),
    closedAt: now(),
    updatedAt: now(),
  });
  return sha;
}
