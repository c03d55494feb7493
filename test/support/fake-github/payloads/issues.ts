/** Label and issue-comment payloads. */
import type { CommentRecord, LabelRecord } from "../state.js";
import { nodeId, repoApi, repoHtml, simpleUser, type Site } from "./site.js";

export function label(s: Site, l: LabelRecord) {
  return {
    id: l.id,
    node_id: nodeId("Label", l.id),
    url: repoApi(s, `/labels/${encodeURIComponent(l.name)}`),
    name: l.name,
    color: l.color,
    default: false,
    description: l.description,
  };
}

export function issueComment(s: Site, c: CommentRecord) {
  return {
    id: c.id,
    node_id: nodeId("IssueComment", c.id),
    url: repoApi(s, `/issues/comments/${c.id}`),
    html_url: repoHtml(s, `/pull/${c.issueNumber}#issuecomment-${c.id}`),
    body: c.body,
    user: simpleUser(s, c.author ?? s.login),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: repoApi(s, `/issues/${c.issueNumber}`),
    author_association: "OWNER",
    performed_via_github_app: null,
  };
}
