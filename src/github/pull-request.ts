/** Finding, opening and updating the one pull request of a change, and reading a pull request's state. */
import { normaliseChanges, type FileChange } from "../layout/file-change.js";
import type { BaseSnapshot } from "./base-snapshot.js";
import type { GitHub } from "./client.js";
import { statusOf, type Session } from "./session.js";

/** The commit a change goes on top of: its sha, its tree and its date (reused for a deterministic commit). */
export type CommitBase = Pick<BaseSnapshot, "sha" | "tree" | "date">;

export interface ChangeProposal {
  base: string;
  branch: string;
  /**
   * Every file the commit writes or deletes, with its mode. (A Map of path -> content, null to delete,
   * is still accepted from callers not yet migrated to FileChange[]; it writes mode 100644.)
   */
  files: readonly FileChange[];
  message: string;
  title: string;
  body: string;
  labels: string[];
}

export interface OpenPull {
  number: number;
  url: string;
  headSha: string;
  title: string;
  body: string;
  labels: string[];
}

export interface ProposalResult {
  pr: { number: number; url: string };
  commit: string;
  /** created: new PR; updated: new commit or text on the existing PR; unchanged: nothing to do. */
  outcome: "created" | "updated" | "unchanged";
}

/** What promfleet needs to know about a pull request it comments on. */
export interface PullState {
  number: number;
  state: "open" | "closed";
  headSha: string;
  /** owner/name of the repository the head branch lives in (a fork's, for a pull request from a fork). */
  headRepo: string;
  baseRef: string;
  baseSha: string;
}

/** Author and committer of every commit promfleet makes. */
export const AUTHOR = { name: "promfleet", email: "promfleet@users.noreply.github.com" };

/** The open pull request from `branch` into `base`, if any (one request). Kept for callers of the port. */
export function findOpenPull(gh: GitHub, base: string, branch: string): Promise<OpenPull | undefined> {
  return gh.findOpenPull(base, branch);
}

/** See `GitHub.proposeChange`. Kept for callers of the port. */
export function proposeChange(
  gh: GitHub,
  base: BaseSnapshot,
  p: ChangeProposal,
  open?: OpenPull,
): Promise<ProposalResult> {
  return gh.proposeChange(base, p, open);
}

/** A pull request's number, state, head and base (one request); a clear error when there is none. */
export async function readPull(s: Session, number: number): Promise<PullState> {
  const { data } = await s.step(`reading pull request #${number}`, () =>
    s.octokit.rest.pulls.get({ owner: s.owner, repo: s.repo, pull_number: number }),
  );
  return {
    number: data.number,
    state: data.state === "open" ? "open" : "closed",
    headSha: data.head.sha,
    headRepo: data.head.repo?.full_name ?? "",
    baseRef: data.base.ref,
    baseSha: data.base.sha,
  };
}

export async function openPullOf(s: Session, base: string, branch: string): Promise<OpenPull | undefined> {
  const pr = (await pullsFrom(s, base, branch, "open"))[0];
  if (!pr) return undefined;
  return {
    number: pr.number,
    url: pr.html_url,
    headSha: pr.head.sha,
    title: pr.title,
    body: pr.body ?? "",
    labels: pr.labels.map((l) => l.name ?? ""),
  };
}

/**
 * One commit on top of the base holding every file of the change, on `branch`, and one pull request for
 * it, through the Git Data API: a fixed number of requests whatever the change's size. Every step can be
 * repeated: the commit is deterministic (same tree, parent and dates give the same sha), the branch is
 * force-moved to it, the pull request is found before it is created, labels are added only when missing.
 */
export async function commitAndOpen(
  s: Session,
  base: BaseSnapshot,
  p: ChangeProposal,
  open?: OpenPull,
): Promise<ProposalResult> {
  const { owner, repo, octokit } = s;
  const sha = await createCommit(s, base, normaliseChanges(p.files), p.message);
  if (open?.headSha !== sha) await moveBranch(s, p.branch, sha, open !== undefined);
  const pr = open ? await updatePull(s, open, p) : await createPull(s, p);
  const missing = p.labels.filter((l) => !(open?.labels ?? []).includes(l));
  if (missing.length > 0)
    await s.step("labelling the pull request", () =>
      octokit.rest.issues.addLabels({ owner, repo, issue_number: pr.number, labels: missing }),
    );
  const textChanged = open !== undefined && (open.title !== p.title || open.body !== p.body);
  const outcome = !open ? "created" : open.headSha !== sha || textChanged ? "updated" : "unchanged";
  return { pr, commit: sha, outcome };
}

/**
 * The commit holding `changes` on top of `base`, by promfleet, dated like the base: the same change on the
 * same base is the same sha. Creating it moves no branch (objects no ref points at are invisible), which is
 * also how a re-run tells promfleet's own branch head from one somebody else pushed.
 */
export async function createCommit(
  s: Session,
  base: CommitBase,
  changes: FileChange[],
  message: string,
): Promise<string> {
  const { owner, repo, octokit } = s;
  const tree = await s.step("creating the tree", () =>
    octokit.rest.git.createTree({ owner, repo, base_tree: base.tree, tree: treeEntries(changes) }),
  );
  const identity = { ...AUTHOR, date: base.date };
  const commit = await s.step("creating the commit", () =>
    octokit.rest.git.createCommit({
      owner,
      repo,
      message,
      tree: tree.data.sha,
      parents: [base.sha],
      author: identity,
      committer: identity,
    }),
  );
  return commit.data.sha;
}

/** The parents of a commit (one request). */
export async function commitParents(s: Session, sha: string): Promise<string[]> {
  const { data } = await s.step(`reading commit ${sha.slice(0, 7)}`, () =>
    s.octokit.rest.git.getCommit({ owner: s.owner, repo: s.repo, commit_sha: sha }),
  );
  return data.parents.map((p) => p.sha);
}

/** Whether a pull request from `branch` into `base` was merged (the change it proposed is done). */
export async function wasMerged(s: Session, base: string, branch: string): Promise<boolean> {
  return (await pullsFrom(s, base, branch, "closed")).some((pr) => pr.merged_at !== null);
}

/** The most recently merged pull request from `branch` into `base`, if any (one request). */
export async function mergedPullOf(
  s: Session,
  base: string,
  branch: string,
): Promise<{ number: number; url: string } | undefined> {
  const merged = (await pullsFrom(s, base, branch, "closed")).filter((pr) => pr.merged_at !== null);
  const last = merged.sort((a, b) => b.number - a.number)[0];
  return last && { number: last.number, url: last.html_url };
}

/** The pull requests from `branch` (in this repository) into `base` in a state (one request). */
async function pullsFrom(s: Session, base: string, branch: string, state: "open" | "closed") {
  const { data } = await s.step(`looking for ${state === "open" ? "an open" : "a merged"} pull request`, () =>
    s.octokit.rest.pulls.list({ owner: s.owner, repo: s.repo, head: `${s.owner}:${branch}`, base, state }),
  );
  return data;
}

function treeEntries(changes: FileChange[]) {
  return changes.map((c) =>
    c.kind === "delete"
      ? // A deletion's mode is ignored by GitHub, but the field is required.
        { path: c.path, mode: "100644" as const, type: "blob" as const, sha: null }
      : { path: c.path, mode: c.mode, type: "blob" as const, content: c.content },
  );
}

/** A new branch is created; an existing one (an earlier run, maybe on an older base) is force-moved. */
async function moveBranch(s: Session, branch: string, sha: string, likelyExists: boolean): Promise<void> {
  const { owner, repo, octokit } = s;
  const update = () => octokit.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha, force: true });
  const create = () => octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha });
  await s.step(`moving branch ${branch}`, async () => {
    try {
      await (likelyExists ? update() : create());
    } catch (e) {
      if (statusOf(e) !== 422) throw e;
      await (likelyExists ? create() : update());
    }
  });
}

async function createPull(s: Session, p: ChangeProposal): Promise<{ number: number; url: string }> {
  const { data } = await s.step("opening the pull request", () =>
    s.octokit.rest.pulls.create({
      owner: s.owner,
      repo: s.repo,
      base: p.base,
      head: p.branch,
      title: p.title,
      body: p.body,
    }),
  );
  return { number: data.number, url: data.html_url };
}

async function updatePull(
  s: Session,
  open: OpenPull,
  p: ChangeProposal,
): Promise<{ number: number; url: string }> {
  if (open.title !== p.title || open.body !== p.body)
    await s.step("updating the pull request", () =>
      s.octokit.rest.pulls.update({
        owner: s.owner,
        repo: s.repo,
        pull_number: open.number,
        title: p.title,
        body: p.body,
      }),
    );
  return { number: open.number, url: open.url };
}
