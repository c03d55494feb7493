/** pulls endpoints. */
import { bodyOf, json, type FakeEnv, type Handler } from "../context.js";
import { unprocessable, validationFailed } from "../errors.js";
import { pullSimple } from "../payloads/pulls.js";
import { repoApi } from "../payloads/site.js";
import { branchSha, fullPull, mergePullRequest, pullView, requirePull } from "../pull-service.js";
import { now, type PullRecord } from "../state.js";
import { paginate } from "./paginate.js";

function matchesHead(env: FakeEnv, pull: PullRecord, head: string | undefined): boolean {
  if (!head?.includes(":")) return true; // GitHub silently ignores a head filter without "owner:"
  const [owner, branch] = [head.slice(0, head.indexOf(":")), head.slice(head.indexOf(":") + 1)];
  return owner.toLowerCase() === env.site.owner.toLowerCase() && (!branch || branch === pull.head);
}

const listPulls: Handler = async ({ env, query }) => {
  const state = query.state ?? "open";
  const selected = env.state.pulls
    .filter((p) => state === "all" || p.state === state)
    .filter((p) => matchesHead(env, p, query.head))
    .filter((p) => !query.base || p.base === query.base);
  const ordered = query.direction === "asc" ? selected : [...selected].reverse();
  const views = await Promise.all(ordered.map(async (p) => pullSimple(env.site, await pullView(env, p))));
  return paginate(views, query, repoApi(env.site, "/pulls"));
};

interface CreateBody {
  title?: string;
  head: string;
  base: string;
  body?: string;
  draft?: boolean;
  maintainer_can_modify?: boolean;
  issue?: number;
}

function headBranch(env: FakeEnv, head: string): string {
  const i = head.indexOf(":");
  if (i < 0) return head;
  if (head.slice(0, i).toLowerCase() !== env.site.owner.toLowerCase()) {
    throw validationFailed("PullRequest", { field: "head", code: "invalid" });
  }
  return head.slice(i + 1);
}

async function checkCreatable(env: FakeEnv, head: string, base: string): Promise<string> {
  const headSha = await branchSha(env, head);
  if (!headSha) throw validationFailed("PullRequest", { field: "head", code: "invalid" });
  const baseSha = await branchSha(env, base);
  if (!baseSha) throw validationFailed("PullRequest", { field: "base", code: "invalid" });
  if (env.state.pulls.some((p) => p.state === "open" && p.head === head && p.base === base)) {
    throw validationFailed("PullRequest", {
      message: `A pull request already exists for ${env.site.owner}:${head}.`,
    });
  }
  if (await env.store.isAncestor(headSha, baseSha)) {
    throw validationFailed("PullRequest", { message: `No commits between ${base} and ${head}` });
  }
  return headSha;
}

const createPull: Handler = async (ctx) => {
  const { env } = ctx;
  const b = bodyOf<CreateBody>(ctx);
  if (b.issue !== undefined)
    throw unprocessable("fake-github: converting an issue to a pull request is not supported");
  const head = headBranch(env, b.head);
  const headSha = await checkCreatable(env, head, b.base);
  const number = env.state.nextIssueNumber();
  const t = now();
  const pull: PullRecord = {
    number,
    id: env.state.nextId(),
    state: "open",
    title: b.title ?? "",
    body: b.body ?? "",
    head,
    base: b.base,
    headSha,
    draft: b.draft ?? false,
    maintainerCanModify: b.maintainer_can_modify ?? true,
    merged: false,
    mergedAt: null,
    mergeCommitSha: null,
    closedAt: null,
    createdAt: t,
    updatedAt: t,
    labels: [],
  };
  env.state.pulls.push(pull);
  return json(201, await fullPull(env, pull), { location: repoApi(env.site, `/pulls/${number}`) });
};

const getPull: Handler = async ({ env, params }) =>
  json(200, await fullPull(env, requirePull(env, Number(params.pull_number))));

interface UpdateBody {
  title?: string;
  body?: string;
  state?: "open" | "closed";
  base?: string;
  maintainer_can_modify?: boolean;
}

async function applyState(
  env: FakeEnv,
  pull: PullRecord,
  state: "open" | "closed" | undefined,
): Promise<void> {
  if (!state || state === pull.state) return;
  if (state === "closed") {
    Object.assign(pull, { state, closedAt: now() });
    return;
  }
  if (pull.merged) throw unprocessable("Cannot reopen a merged pull request");
  if (
    env.state.pulls.some(
      (p) => p !== pull && p.state === "open" && p.head === pull.head && p.base === pull.base,
    )
  ) {
    throw validationFailed("PullRequest", {
      message: `A pull request already exists for ${env.site.owner}:${pull.head}.`,
    });
  }
  Object.assign(pull, { state, closedAt: null });
}

const updatePull: Handler = async (ctx) => {
  const { env, params } = ctx;
  const pull = requirePull(env, Number(params.pull_number));
  const b = bodyOf<UpdateBody>(ctx);
  if (b.base !== undefined && !(await branchSha(env, b.base))) {
    throw validationFailed("PullRequest", { field: "base", code: "invalid" });
  }
  await applyState(env, pull, b.state);
  if (b.title !== undefined) pull.title = b.title;
  if (b.body !== undefined) pull.body = b.body;
  if (b.base !== undefined) pull.base = b.base;
  if (b.maintainer_can_modify !== undefined) pull.maintainerCanModify = b.maintainer_can_modify;
  pull.updatedAt = now();
  return json(200, await fullPull(env, pull));
};

interface MergeBody {
  commit_title?: string;
  commit_message?: string;
  sha?: string;
  merge_method?: "merge" | "squash" | "rebase";
}

const mergePull: Handler = async (ctx) => {
  const b = bodyOf<MergeBody>(ctx);
  if (b.merge_method === "rebase") throw unprocessable("fake-github: merge_method rebase is not supported");
  const sha = await mergePullRequest(ctx.env, Number(ctx.params.pull_number), {
    method: b.merge_method ?? "merge",
    title: b.commit_title,
    message: b.commit_message,
    expectedHeadSha: b.sha,
  });
  return json(200, { sha, merged: true, message: "Pull Request successfully merged" });
};

export const pullRoutes: Record<string, Handler> = {
  "pulls/list": listPulls,
  "pulls/create": createPull,
  "pulls/get": getPull,
  "pulls/update": updatePull,
  "pulls/merge": mergePull,
};
