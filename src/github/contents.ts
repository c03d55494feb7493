/** Reading the repository at a ref without a checkout: a file's text, a folder's subfolders. */
import { ExitCode, PromfleetError } from "../util/errors.js";
import { statusOf, type Session } from "./session.js";

/** A file's text at `ref`; undefined when the path does not exist there or is not a file. */
export async function readFileAt(s: Session, path: string, ref: string): Promise<string | undefined> {
  const data = await s.step(`reading ${path} at ${ref.slice(0, 12)}`, async () => {
    try {
      return (await s.octokit.rest.repos.getContent({ owner: s.owner, repo: s.repo, path, ref })).data;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  });
  if (data === undefined || Array.isArray(data) || data.type !== "file") return undefined;
  const { content, encoding } = data as { content?: string; encoding?: string };
  // Files over 1 MB come without content (encoding "none"); nothing promfleet reads is that large.
  if (encoding !== "base64" || content === undefined)
    throw new PromfleetError(`GitHub: ${path} at ${ref} is too large to read (over 1 MB)`, ExitCode.badInput);
  return Buffer.from(content, "base64").toString("utf8");
}

/**
 * The names of the folders inside `folder` at commit `sha`; undefined when `folder` is not a folder there.
 * Read through the Git Trees API (one request per path segment, plus one), which, unlike the Contents
 * API, does not stop at 1,000 entries.
 */
export async function subfoldersAt(s: Session, folder: string, sha: string): Promise<string[] | undefined> {
  let tree: string | undefined = sha;
  for (const segment of folder.split("/").filter(Boolean)) {
    tree = (await treeAt(s, tree, folder)).find((e) => e.path === segment && e.type === "tree")?.sha;
    if (!tree) return undefined;
  }
  return (await treeAt(s, tree, folder)).filter((e) => e.type === "tree").map((e) => e.path);
}

async function treeAt(s: Session, sha: string, folder: string) {
  const { data } = await s.step(`listing ${folder}/ at ${sha.slice(0, 12)}`, () =>
    s.octokit.rest.git.getTree({ owner: s.owner, repo: s.repo, tree_sha: sha }),
  );
  return data.tree.map((e) => ({ path: e.path ?? "", type: e.type ?? "", sha: e.sha ?? "" }));
}
