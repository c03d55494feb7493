/** repository, branch, contents, user and rate-limit endpoints. */
import { json, type FakeEnv, type Handler } from "../context.js";
import { forbidden, notFound } from "../errors.js";
import type { TreeEntry } from "../git-store.js";
import { branch, repository } from "../payloads/repo.js";
import { authenticatedUser, repoApi, repoHtml, type Site } from "../payloads/site.js";
import { resolveRef } from "./deployments.js";

const getRepo: Handler = async ({ env }) =>
  json(200, repository(env.site, env.state.pulls.filter((p) => p.state === "open").length));

const getBranch: Handler = async ({ env, params }) => {
  const sha = await env.store.readRef(`refs/heads/${params.branch ?? ""}`);
  if (!sha) throw notFound("Branch not found");
  return json(200, branch(env.site, params.branch ?? "", await env.store.readCommit(sha)));
};

function contentEntry(s: Site, ref: string, e: TreeEntry) {
  const type =
    e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : e.mode === "120000" ? "symlink" : "file";
  const url = `${repoApi(s, `/contents/${e.path}`)}?ref=${encodeURIComponent(ref)}`;
  const git = repoApi(s, `/git/${e.type}s/${e.sha}`);
  const html = repoHtml(s, `/${type === "dir" ? "tree" : "blob"}/${ref}/${e.path}`);
  return {
    type,
    size: e.size ?? 0,
    name: e.path.split("/").pop() ?? e.path,
    path: e.path,
    sha: e.sha,
    url,
    git_url: git,
    html_url: html,
    download_url: type === "file" ? `${repoHtml(s)}/raw/${ref}/${e.path}` : null,
    _links: { self: url, git, html },
  };
}

async function lookup(env: FakeEnv, commit: string, path: string): Promise<TreeEntry | undefined> {
  const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const tree = parent ? await env.store.resolvePath(commit, parent) : await env.store.resolve(commit, "tree");
  if (!tree || (await env.store.objectType(tree)) !== "tree") return undefined;
  const name = path.slice(parent ? parent.length + 1 : 0);
  const entry = (await env.store.lsTree(tree)).find((e) => e.path === name);
  return entry && { ...entry, path };
}

const getContent: Handler = async ({ env, params, query }) => {
  const ref = query.ref ?? env.site.defaultBranch;
  const commit = await resolveRef(env, ref);
  if (!commit) throw notFound(`No commit found for the ref ${ref}`);
  const path = (params.path ?? "").replace(/^\/+|\/+$/g, "");
  const entry = await lookup(env, commit, path);
  if (!entry) throw notFound();
  if (entry.type === "tree") {
    const children = await env.store.lsTree(entry.sha);
    return json(
      200,
      children.map((c) => contentEntry(env.site, ref, { ...c, path: `${path}/${c.path}` })),
    );
  }
  const base = contentEntry(env.site, ref, entry);
  if (base.type !== "file") return json(200, base);
  const data = await env.store.readBlob(entry.sha);
  return json(200, {
    ...base,
    encoding: "base64",
    content: data.toString("base64").replace(/(.{60})/g, "$1\n") + "\n",
  });
};

const getUser: Handler = async ({ env }) => {
  if (env.site.actor.endsWith("[bot]")) throw forbidden("Resource not accessible by integration");
  return json(200, authenticatedUser(env.site));
};

const rateLimit: Handler = async ({ rateLimit: h }) => {
  const core = {
    limit: Number(h["x-ratelimit-limit"]),
    remaining: Number(h["x-ratelimit-remaining"]),
    reset: Number(h["x-ratelimit-reset"]),
    used: Number(h["x-ratelimit-used"]),
  };
  return json(200, { resources: { core }, rate: core });
};

export const repoRoutes: Record<string, Handler> = {
  "repos/get": getRepo,
  "repos/get-branch": getBranch,
  "repos/get-content": getContent,
  "users/get-authenticated": getUser,
  "rate-limit/get": rateLimit,
};
