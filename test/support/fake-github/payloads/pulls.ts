/** Pull request payloads (simple list form and full single form). */
import type { LabelRecord, PullRecord } from "../state.js";
import { label } from "./issues.js";
import { repository } from "./repo.js";
import { nodeId, repoApi, repoHtml, simpleUser, type Site } from "./site.js";

export interface PullView {
  pull: PullRecord;
  headSha: string;
  baseSha: string;
  labels: LabelRecord[];
  openIssues: number;
}

export interface PullStats {
  commits: number;
  additions: number;
  deletions: number;
  changed_files: number;
  comments: number;
}

function branchRef(s: Site, v: PullView, which: "head" | "base") {
  const ref = which === "head" ? v.pull.head : v.pull.base;
  return {
    label: `${s.owner}:${ref}`,
    ref,
    sha: which === "head" ? v.headSha : v.baseSha,
    user: simpleUser(s),
    repo: repository(s, v.openIssues),
  };
}

function links(s: Site, n: number, headSha: string) {
  const href = (h: string) => ({ href: h });
  return {
    self: href(repoApi(s, `/pulls/${n}`)),
    html: href(repoHtml(s, `/pull/${n}`)),
    issue: href(repoApi(s, `/issues/${n}`)),
    comments: href(repoApi(s, `/issues/${n}/comments`)),
    review_comments: href(repoApi(s, `/pulls/${n}/comments`)),
    review_comment: href(repoApi(s, "/pulls/comments{/number}")),
    commits: href(repoApi(s, `/pulls/${n}/commits`)),
    statuses: href(repoApi(s, `/statuses/${headSha}`)),
  };
}

export function pullSimple(s: Site, v: PullView) {
  const p = v.pull;
  const n = p.number;
  return {
    url: repoApi(s, `/pulls/${n}`),
    id: p.id,
    node_id: nodeId("PullRequest", p.id),
    html_url: repoHtml(s, `/pull/${n}`),
    diff_url: repoHtml(s, `/pull/${n}.diff`),
    patch_url: repoHtml(s, `/pull/${n}.patch`),
    issue_url: repoApi(s, `/issues/${n}`),
    commits_url: repoApi(s, `/pulls/${n}/commits`),
    review_comments_url: repoApi(s, `/pulls/${n}/comments`),
    review_comment_url: repoApi(s, "/pulls/comments{/number}"),
    comments_url: repoApi(s, `/issues/${n}/comments`),
    statuses_url: repoApi(s, `/statuses/${v.headSha}`),
    number: n,
    state: p.state,
    locked: false,
    title: p.title,
    user: simpleUser(s),
    body: p.body === "" ? null : p.body,
    labels: v.labels.map((l) => label(s, l)),
    milestone: null,
    active_lock_reason: null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    closed_at: p.closedAt,
    merged_at: p.mergedAt,
    merge_commit_sha: p.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branchRef(s, v, "head"),
    base: branchRef(s, v, "base"),
    _links: links(s, n, v.headSha),
    author_association: "OWNER",
    auto_merge: null,
    draft: p.draft,
  };
}

export function pullFull(s: Site, v: PullView, stats: PullStats) {
  const open = v.pull.state === "open";
  return {
    ...pullSimple(s, v),
    merged: v.pull.merged,
    mergeable: open ? true : null,
    rebaseable: open ? true : null,
    mergeable_state: open ? "clean" : "unknown",
    merged_by: v.pull.merged ? simpleUser(s) : null,
    review_comments: 0,
    maintainer_can_modify: v.pull.maintainerCanModify,
    ...stats,
  };
}
