/** git blobs, trees and commits. */
import { bodyOf, json, type FakeEnv, type Handler } from "../context.js";
import { notFound, unprocessable } from "../errors.js";
import type { Identity } from "../git-store.js";
import { blob, gitCommit, gitTree, shortBlob } from "../payloads/git.js";
import { repoApi } from "../payloads/site.js";
import { buildTree, type TreeEntryInput } from "../tree-edit.js";

function decodeBlob(content: string, encoding = "utf-8"): Buffer {
  if (encoding === "base64") return Buffer.from(content, "base64");
  if (encoding === "utf-8" || encoding === "utf8") return Buffer.from(content, "utf8");
  throw unprocessable(`encoding must be "utf-8" or "base64", got ${JSON.stringify(encoding)}`);
}

const createBlob: Handler = async (ctx) => {
  const { content, encoding } = bodyOf<{ content: string; encoding?: string }>(ctx);
  const sha = await ctx.env.store.hashBlob(decodeBlob(content, encoding));
  return json(201, shortBlob(ctx.env.site, sha), { location: repoApi(ctx.env.site, `/git/blobs/${sha}`) });
};

const getBlob: Handler = async ({ env, params }) => {
  const sha = params.file_sha ?? "";
  if ((await env.store.objectType(sha)) !== "blob") throw notFound();
  return json(200, blob(env.site, sha, await env.store.readBlob(sha)));
};

const createTree: Handler = async (ctx) => {
  const { tree, base_tree } = bodyOf<{ tree: TreeEntryInput[]; base_tree?: string }>(ctx);
  const { store, site } = ctx.env;
  const sha = await buildTree(store, tree, base_tree);
  return json(201, gitTree(site, sha, await store.lsTree(sha)), {
    location: repoApi(site, `/git/trees/${sha}`),
  });
};

const getTree: Handler = async ({ env, params, query }) => {
  const sha = await env.store.resolve(params.tree_sha ?? "", "tree");
  if (!sha) throw notFound();
  return json(200, gitTree(env.site, sha, await env.store.lsTree(sha, query.recursive !== undefined)));
};

interface CommitBody {
  message: string;
  tree: string;
  parents?: string[];
  author?: Identity;
  committer?: Partial<Identity>;
}

async function checkCommitInputs(env: FakeEnv, b: CommitBody): Promise<void> {
  if ((await env.store.objectType(b.tree)) !== "tree") throw unprocessable("Tree SHA does not exist");
  const types = await env.store.objectTypes(b.parents ?? []);
  if ([...types.values()].some((t) => t !== "commit")) {
    throw unprocessable("Parent SHA does not exist or is not a commit object");
  }
}

const createCommit: Handler = async (ctx) => {
  const { env } = ctx;
  const b = bodyOf<CommitBody>(ctx);
  await checkCommitInputs(env, b);
  const date = new Date().toISOString();
  const author = { ...env.user, date, ...b.author };
  const committer = { ...author, ...b.committer };
  const sha = await env.store.commitTree({
    tree: b.tree,
    parents: b.parents ?? [],
    message: b.message,
    author,
    committer,
  });
  const payload = gitCommit(env.site, await env.store.readCommit(sha));
  return json(201, payload, { location: payload.url });
};

const getCommit: Handler = async ({ env, params }) => {
  const sha = params.commit_sha ?? "";
  if ((await env.store.objectType(sha)) !== "commit") throw notFound();
  return json(200, gitCommit(env.site, await env.store.readCommit(sha)));
};

export const objectRoutes: Record<string, Handler> = {
  "git/create-blob": createBlob,
  "git/get-blob": getBlob,
  "git/create-tree": createTree,
  "git/get-tree": getTree,
  "git/create-commit": createCommit,
  "git/get-commit": getCommit,
};
