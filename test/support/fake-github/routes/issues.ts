/** issue labels and comments (issues are the repository's pull requests). */
import { bodyOf, json, type FakeEnv, type Handler, type RouteContext } from "../context.js";
import { notFound } from "../errors.js";
import { issueComment, label } from "../payloads/issues.js";
import { repoApi } from "../payloads/site.js";
import { requirePull } from "../pull-service.js";
import { now, type CommentRecord, type PullRecord } from "../state.js";
import { paginate } from "./paginate.js";

function issue(ctx: RouteContext): PullRecord {
  return requirePull(ctx.env, Number(ctx.params.issue_number));
}

function labelsOf(env: FakeEnv, pull: PullRecord) {
  return pull.labels.map((name) => label(env.site, env.state.label(name)));
}

type LabelInput = string | { name: string };

function labelNames(body: unknown): string[] {
  const list = Array.isArray(body) ? body : ((body as { labels?: LabelInput[] } | undefined)?.labels ?? []);
  return (list as LabelInput[]).map((l) => (typeof l === "string" ? l : l.name));
}

function addLabelNames(env: FakeEnv, pull: PullRecord, names: string[]): void {
  for (const name of names) {
    const canonical = env.state.label(name).name;
    if (!pull.labels.some((l) => l.toLowerCase() === canonical.toLowerCase())) pull.labels.push(canonical);
  }
}

const addLabels: Handler = async (ctx) => {
  const pull = issue(ctx);
  addLabelNames(ctx.env, pull, labelNames(ctx.body));
  return json(200, labelsOf(ctx.env, pull));
};

const setLabels: Handler = async (ctx) => {
  const pull = issue(ctx);
  pull.labels = [];
  addLabelNames(ctx.env, pull, labelNames(ctx.body));
  return json(200, labelsOf(ctx.env, pull));
};

const listLabels: Handler = async (ctx) => {
  const pull = issue(ctx);
  return paginate(labelsOf(ctx.env, pull), ctx.query, repoApi(ctx.env.site, `/issues/${pull.number}/labels`));
};

const removeLabel: Handler = async (ctx) => {
  const pull = issue(ctx);
  const name = (ctx.params.name ?? "").toLowerCase();
  const before = pull.labels.length;
  pull.labels = pull.labels.filter((l) => l.toLowerCase() !== name);
  if (pull.labels.length === before) throw notFound("Label does not exist");
  return json(200, labelsOf(ctx.env, pull));
};

function comment(ctx: RouteContext): CommentRecord {
  const found = ctx.env.state.comments.find((c) => c.id === Number(ctx.params.comment_id));
  if (!found) throw notFound();
  return found;
}

const listComments: Handler = async (ctx) => {
  const n = issue(ctx).number;
  const since = ctx.query.since ? Date.parse(ctx.query.since) : 0;
  const items = ctx.env.state.comments.filter((c) => c.issueNumber === n && Date.parse(c.updatedAt) >= since);
  return paginate(
    items.map((c) => issueComment(ctx.env.site, c)),
    ctx.query,
    repoApi(ctx.env.site, `/issues/${n}/comments`),
  );
};

const createComment: Handler = async (ctx) => {
  const pull = issue(ctx);
  const t = now();
  const c = {
    id: ctx.env.state.nextId(),
    issueNumber: pull.number,
    body: bodyOf<{ body: string }>(ctx).body,
    author: ctx.env.site.actor,
    createdAt: t,
    updatedAt: t,
  };
  ctx.env.state.comments.push(c);
  const payload = issueComment(ctx.env.site, c);
  return json(201, payload, { location: payload.url });
};

const getComment: Handler = async (ctx) => json(200, issueComment(ctx.env.site, comment(ctx)));

const updateComment: Handler = async (ctx) => {
  const c = comment(ctx);
  Object.assign(c, { body: bodyOf<{ body: string }>(ctx).body, updatedAt: now() });
  return json(200, issueComment(ctx.env.site, c));
};

const deleteComment: Handler = async (ctx) => {
  const c = comment(ctx);
  ctx.env.state.comments.splice(ctx.env.state.comments.indexOf(c), 1);
  return { status: 204 };
};

export const issueRoutes: Record<string, Handler> = {
  "issues/add-labels": addLabels,
  "issues/set-labels": setLabels,
  "issues/list-labels-on-issue": listLabels,
  "issues/remove-label": removeLabel,
  "issues/list-comments": listComments,
  "issues/create-comment": createComment,
  "issues/get-comment": getComment,
  "issues/update-comment": updateComment,
  "issues/delete-comment": deleteComment,
};
