import type { GitHub } from "./client.js";
import type { BaseSnapshot } from "./base-snapshot.js";

export interface ChangeProposal {
  base: string;
  branch: string;
  /** Repository path -> new content, or null to delete. */
  files: Map<string, string | null>;
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

/** Author and committer of every commit promfleet makes. */
export const AUTHOR = { name: "promfleet", email: "promfleet@users.noreply.github.com" };

/** The open pull request from `branch` into `base`, if any (one request). */
export async function findOpenPull(gh: GitHub, base: string, branch: string): Promise<OpenPull | undefined> {
  const { data } = await gh.step("looking for an open pull request", () =>
    gh.octokit.rest.pulls.list({
      owner: gh.owner,
      repo: gh.repo,
      head: `${gh.owner}:${branch}`,
      base,
      state: "open",
    }),
  );
  const pr = data[0];
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
export async function proposeChange(
  gh: GitHub,
  base: BaseSnapshot,
  p: ChangeProposal,
  open?: OpenPull,
): Promise<ProposalResult> {
  const { owner, repo, octokit } = gh;
  const tree = await gh.step("creating the tree", () =>
    octokit.rest.git.createTree({ owner, repo, base_tree: base.tree, tree: treeEntries(p.files) }),
  );
  const identity = { ...AUTHOR, date: base.date };
  const commit = await gh.step("creating the commit", () =>
    octokit.rest.git.createCommit({
      owner,
      repo,
      message: p.message,
      tree: tree.data.sha,
      parents: [base.sha],
      author: identity,
      committer: identity,
    }),
  );
  const sha = commit.data.sha;
  if (open?.headSha !== sha) await moveBranch(gh, p.branch, sha, open !== undefined);
  const pr = open ? await updatePull(gh, open, p) : await createPull(gh, p);
  const missing = p.labels.filter((l) => !(open?.labels ?? []).includes(l));
  if (missing.length > 0)
    await gh.step("labelling the pull request", () =>
      octokit.rest.issues.addLabels({ owner, repo, issue_number: pr.number, labels: missing }),
    );
  const textChanged = open !== undefined && (open.title !== p.title || open.body !== p.body);
  const outcome = !open ? "created" : open.headSha !== sha || textChanged ? "updated" : "unchanged";
  return { pr, commit: sha, outcome };
}

function treeEntries(files: Map<string, string | null>) {
  return [...files]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, content]) =>
      content === null
        ? { path, mode: "100644" as const, type: "blob" as const, sha: null }
        : { path, mode: "100644" as const, type: "blob" as const, content },
    );
}

/** A new branch is created; an existing one (an earlier run, maybe on an older base) is force-moved. */
async function moveBranch(gh: GitHub, branch: string, sha: string, likelyExists: boolean): Promise<void> {
  const { owner, repo, octokit } = gh;
  const update = () => octokit.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha, force: true });
  const create = () => octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha });
  await gh.step(`moving branch ${branch}`, async () => {
    try {
      await (likelyExists ? update() : create());
    } catch (e) {
      if ((e as { status?: number }).status !== 422) throw e;
      await (likelyExists ? create() : update());
    }
  });
}

async function createPull(gh: GitHub, p: ChangeProposal): Promise<{ number: number; url: string }> {
  const { data } = await gh.step("opening the pull request", () =>
    gh.octokit.rest.pulls.create({
      owner: gh.owner,
      repo: gh.repo,
      base: p.base,
      head: p.branch,
      title: p.title,
      body: p.body,
    }),
  );
  return { number: data.number, url: data.html_url };
}

async function updatePull(
  gh: GitHub,
  open: OpenPull,
  p: ChangeProposal,
): Promise<{ number: number; url: string }> {
  if (open.title !== p.title || open.body !== p.body)
    await gh.step("updating the pull request", () =>
      gh.octokit.rest.pulls.update({
        owner: gh.owner,
        repo: gh.repo,
        pull_number: open.number,
        title: p.title,
        body: p.body,
      }),
    );
  return { number: open.number, url: open.url };
}
