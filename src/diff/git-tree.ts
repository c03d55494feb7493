/** The rendered files at a git ref, read by object id from one ls-tree. */
import { CLUSTERS_DIR } from "../layout/names.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { run, runText } from "../util/process.js";

/** Every file under clusters/ at a git ref, listed with `git ls-tree` and read by object id with one `git cat-file --batch`. */
export async function filesAtRef(root: string, ref: string): Promise<Map<string, string>> {
  const blobs = await blobIdsAtRef(root, ref);
  const texts = await readBlobs(root, [...blobs.values()]);
  return new Map([...blobs.keys()].map((p, i) => [p, texts[i] as string]));
}

/** Path -> blob object id of every file under clusters/ at a git ref, from one `git ls-tree`. */
export async function blobIdsAtRef(root: string, ref: string): Promise<Map<string, string>> {
  return blobIdsAt(root, await resolveCommit(root, ref), [`${CLUSTERS_DIR}/`]);
}

/** Path -> object id of every file under some folders (e.g. `clusters/<name>/`) at a commit. */
export async function blobIdsAt(
  root: string,
  commit: string,
  folders: string[],
): Promise<Map<string, string>> {
  const entries = await treeEntries(root, commit, folders, true);
  return new Map(entries.map((e) => [e.path, e.id]));
}

/** The names of the folders under clusters/ at a commit. */
export async function clusterFoldersAt(root: string, commit: string): Promise<string[]> {
  const entries = await treeEntries(root, commit, [`${CLUSTERS_DIR}/`], false);
  return entries.filter((e) => e.type === "tree").map((e) => e.path.slice(CLUSTERS_DIR.length + 1));
}

interface TreeEntry {
  type: string;
  id: string;
  path: string;
}

/**
 * The entries of `git ls-tree` at a commit under some paths (relative to `root`; ls-tree reads no
 * wildcards in them), with `recursive` every file below them. Blobs are then read by id, which git finds
 * directly (a "<commit>:<path>" name is resolved by walking the tree again for every file).
 */
async function treeEntries(
  root: string,
  commit: string,
  paths: string[],
  recursive: boolean,
): Promise<TreeEntry[]> {
  const ls = await runText("git", [
    "-C",
    root,
    "ls-tree",
    ...(recursive ? ["-r"] : []),
    "-z",
    commit,
    "--",
    ...paths,
  ]);
  // "<mode> <type> <object id>\t<path>"
  return ls
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf("\t");
      const [, type, id] = line.slice(0, tab).split(" ") as [string, string, string];
      return { type, id, path: line.slice(tab + 1) };
    });
}

/** The content of blobs by object id, in order, with one `git cat-file --batch`. */
export async function readBlobs(root: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await run("git", ["-C", root, "cat-file", "--batch"], { input: ids.join("\n") + "\n" });
  if (r.exitCode !== 0) throw new Error(`git cat-file --batch in ${root} failed: ${r.all.trim()}`);
  return parseBatch(r.stdout, ids.length);
}

/**
 * The commit a ref names; a clear error, naming the flag that gave it, for a ref git does not know or an
 * argument that is not a ref.
 */
export async function resolveCommit(root: string, ref: string, flag = "--base"): Promise<string> {
  const r = ref.startsWith("-")
    ? undefined
    : await run("git", [
        "-C",
        root,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        `${ref}^{commit}`,
      ]);
  if (r?.exitCode === 0) return r.stdout.toString("utf8").trim();
  const why = r?.all.trim().split("\n")[0];
  throw new PromfleetError(
    `${flag} ${ref}: not a commit in ${root}${why ? ` (${why})` : ""}\n` +
      "fix: pass a branch, tag or commit (git fetch it first if it lives on the remote)",
    ExitCode.badInput,
  );
}

/** `<sha> blob <size>\n<content>\n` per requested object, in request order. */
function parseBatch(out: Buffer, count: number): string[] {
  const texts: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const eol = out.indexOf(10, at);
    const size = Number(out.subarray(at, eol).toString().split(" ")[2]);
    texts.push(out.subarray(eol + 1, eol + 1 + size).toString("utf8"));
    at = eol + 1 + size + 1;
  }
  return texts;
}

/** The merge base with origin/<branch> when that exists (a pull request's base), else HEAD. */
export async function defaultBase(root: string, branch: string): Promise<string> {
  const mb = await run("git", ["-C", root, "merge-base", "HEAD", `origin/${branch}`]);
  return mb.exitCode === 0 ? mb.stdout.toString("utf8").trim() : "HEAD";
}
