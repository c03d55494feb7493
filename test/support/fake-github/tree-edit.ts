/** Applies create-tree style entries (GitHub semantics) on top of an optional base tree. */
import { unprocessable } from "./errors.js";
import type { GitStore } from "./git-store.js";
import { TREE_MODE, TreeBuilder } from "./tree-builder.js";

export interface TreeEntryInput {
  path: string;
  mode: string;
  type: string;
  sha?: string | null;
  content?: string;
}

const TYPE_BY_MODE: Record<string, string> = {
  "100644": "blob",
  "100755": "blob",
  "120000": "blob",
  [TREE_MODE]: "tree",
  "160000": "commit",
};

function checkPath(path: string): void {
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p === ".git")) {
    throw unprocessable(`tree.path contains a malformed path component: ${JSON.stringify(path)}`);
  }
}

async function checkShas(store: GitStore, entries: TreeEntryInput[]): Promise<void> {
  const withSha = entries.filter((e) => typeof e.sha === "string" && e.type !== "commit");
  const types = await store.objectTypes(withSha.map((e) => e.sha as string));
  for (const e of withSha) {
    if (types.get(e.sha as string) !== e.type)
      throw unprocessable(`tree.sha ${e.sha} is not a valid ${e.type}`);
  }
}

function checkEntry(e: TreeEntryInput): void {
  checkPath(e.path);
  if (TYPE_BY_MODE[e.mode] !== e.type) {
    throw unprocessable(`tree.mode ${e.mode} is not valid for tree.type ${e.type} (${e.path})`);
  }
}

/** the blob sha of every entry given by content, all written with one git process */
async function contentShas(store: GitStore, entries: TreeEntryInput[]): Promise<Map<TreeEntryInput, string>> {
  const withContent = entries.filter((e) => e.sha !== null && e.content !== undefined);
  const shas = await store.hashBlobs(withContent.map((e) => e.content as string));
  return new Map(withContent.map((e, i) => [e, shas[i] as string]));
}

async function applyEntry(builder: TreeBuilder, e: TreeEntryInput, shas: Map<TreeEntryInput, string>) {
  if (e.sha === null) {
    if (!(await builder.remove(e.path)))
      throw unprocessable(`tree.path ${e.path} does not exist and cannot be deleted`);
    return;
  }
  const sha = shas.get(e) ?? (e.sha as string);
  await builder.set(e.path, { mode: e.mode, type: e.type, sha });
}

/** returns the new root tree sha */
export async function buildTree(
  store: GitStore,
  entries: TreeEntryInput[],
  baseTree?: string,
): Promise<string> {
  if (baseTree !== undefined && (await store.objectType(baseTree)) !== "tree") {
    throw unprocessable("base_tree is not a valid tree oid");
  }
  entries.forEach(checkEntry);
  await checkShas(store, entries);
  const shas = await contentShas(store, entries);
  const builder = new TreeBuilder(store, baseTree);
  for (const e of entries) await applyEntry(builder, e, shas);
  return builder.write();
}
