/** The one sticky comment promfleet keeps on a pull request. */
import type { Session } from "./session.js";

export interface CommentResult {
  id: number;
  url: string;
  outcome: "created" | "updated" | "unchanged";
}

/**
 * Creates or updates the one comment on `issue` that starts with `marker` AND was written by `author`:
 * anyone can post a comment carrying the marker, and promfleet must never edit theirs or trust it.
 */
export async function ensureComment(
  s: Session,
  author: string,
  issue: number,
  marker: string,
  body: string,
): Promise<CommentResult> {
  const { owner, repo, octokit } = s;
  const comments = await s.step("listing the pull request's comments", () =>
    octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: issue, per_page: 100 }),
  );
  const mine = comments.find((c) => c.user?.login === author && c.body?.startsWith(marker));
  if (mine && mine.body === body) return { id: mine.id, url: mine.html_url, outcome: "unchanged" };
  if (mine) {
    await s.step("updating the review comment", () =>
      octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body }),
    );
    return { id: mine.id, url: mine.html_url, outcome: "updated" };
  }
  const { data } = await s.step("adding the review comment", () =>
    octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body }),
  );
  return { id: data.id, url: data.html_url, outcome: "created" };
}
