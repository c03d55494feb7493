import type { FileChange } from "../layout/file-change.js";
import { AUTHOR } from "./pull-request.js";
import type { GitHub } from "./client.js";

/**
 * Reads the cluster-change commands need before the GitHub port offers them (the lead folds these into
 * the `GitHub` object). Each is one request.
 */

/** A file's text at `ref`, or undefined when the path does not exist there. */
export async function readFile(gh: GitHub, path: string, ref: string): Promise<string | undefined> {
  const found = await gh.step(`reading ${path} at ${ref.slice(0, 12)}`, async () => {
    try {
      return await gh.octokit.rest.repos.getContent({ owner: gh.owner, repo: gh.repo, path, ref });
    } catch (e) {
      if ((e as { status?: number }).status === 404) return undefined;
      throw e;
    }
  });
  const content = (found?.data as { content?: string } | undefined)?.content;
  return content === undefined ? undefined : Buffer.from(content, "base64").toString("utf8");
}

/** The parents of a commit. */
export async function commitParents(gh: GitHub, sha: string): Promise<string[]> {
  const { data } = await gh.step(`reading commit ${sha.slice(0, 7)}`, () =>
    gh.octokit.rest.git.getCommit({ owner: gh.owner, repo: gh.repo, commit_sha: sha }),
  );
  return data.parents.map((p) => p.sha);
}

/** Whether a pull request from `branch` into `base` was merged (the change it proposed is done). */
export async function wasMerged(gh: GitHub, base: string, branch: string): Promise<boolean> {
  const { data } = await gh.step("looking for a merged pull request", () =>
    gh.octokit.rest.pulls.list({
      owner: gh.owner,
      repo: gh.repo,
      head: `${gh.owner}:${branch}`,
      base,
      state: "closed",
    }),
  );
  return data.some((pr) => pr.merged_at !== null);
}

/**
 * The sha of the commit proposeChange makes for `changes` on `base`, without moving any branch: git
 * objects are content-addressed, so creating the same tree and commit again gives the same sha, and
 * objects no ref points at are invisible. How a re-run tells promfleet's own branch head from one
 * somebody else pushed.
 */
export async function commitFor(
  gh: GitHub,
  base: { sha: string; tree: string; date: string },
  changes: FileChange[],
  message: string,
): Promise<string> {
  const { owner, repo, octokit } = gh;
  const tree = await gh.step("creating the tree to compare with", () =>
    octokit.rest.git.createTree({ owner, repo, base_tree: base.tree, tree: changes.map(treeEntry) }),
  );
  const identity = { ...AUTHOR, date: base.date };
  const commit = await gh.step("creating the commit to compare with", () =>
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

function treeEntry(c: FileChange) {
  return c.kind === "delete"
    ? { path: c.path, mode: "100644" as const, type: "blob" as const, sha: null }
    : { path: c.path, mode: c.mode, type: "blob" as const, content: c.content };
}
