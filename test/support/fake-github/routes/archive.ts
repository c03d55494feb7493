/** repos/get-commit and the tarball download (a 302 to a codeload-style URL, as GitHub answers). */
import type { ServerResponse } from "node:http";
import { execa } from "execa";
import { json, type FakeEnv, type Handler } from "../context.js";
import { notFound } from "../errors.js";
import { gitCommit } from "../payloads/git.js";
import { repoApi, repoHtml, type Site } from "../payloads/site.js";
import { resolveRef } from "./deployments.js";

/** Path prefix of archive downloads; outside the REST API, like codeload.github.com. */
export const CODELOAD_PREFIX = "/_codeload/";

const getCommit: Handler = async ({ env, params }) => {
  const sha = await resolveRef(env, params.ref ?? "");
  if (!sha) throw notFound(`No commit found for SHA: ${params.ref ?? ""}`);
  const c = await env.store.readCommit(sha);
  const git = gitCommit(env.site, c);
  return json(200, {
    sha,
    node_id: git.node_id,
    url: repoApi(env.site, `/commits/${sha}`),
    html_url: repoHtml(env.site, `/commit/${sha}`),
    comments_url: repoApi(env.site, `/commits/${sha}/comments`),
    commit: {
      url: git.url,
      author: git.author,
      committer: git.committer,
      message: git.message,
      tree: git.tree,
      comment_count: 0,
      verification: git.verification,
    },
    author: null,
    committer: null,
    parents: git.parents,
    files: [],
    stats: { additions: 0, deletions: 0, total: 0 },
  });
};

const downloadTarball: Handler = async ({ env, params }) => {
  const sha = await resolveRef(env, params.ref ?? "");
  if (!sha) throw notFound();
  return { status: 302, headers: { location: codeloadUrl(env.site, sha) } };
};

function codeloadUrl(s: Site, sha: string): string {
  return `${s.api}${CODELOAD_PREFIX}${s.owner}/${s.repo}/tar.gz/${sha}`;
}

/** Serves `git archive` of a commit, with GitHub's `<repo>-<sha>/` top folder. */
export async function serveArchive(env: FakeEnv, path: string, res: ServerResponse): Promise<void> {
  const sha = /\/tar\.gz\/([0-9a-f]{40})$/.exec(path)?.[1];
  if (!sha) {
    res.writeHead(404).end();
    return;
  }
  const { stdout } = await execa(
    "git",
    [
      "--git-dir",
      env.store.dir,
      "archive",
      "--format=tar.gz",
      `--prefix=${env.site.repo}-${sha.slice(0, 7)}/`,
      sha,
    ],
    { encoding: "buffer" },
  );
  res.writeHead(200, { "content-type": "application/x-gzip", "content-length": String(stdout.length) });
  res.end(stdout);
}

export const archiveRoutes: Record<string, Handler> = {
  "repos/get-commit": getCommit,
  "repos/download-tarball-archive": downloadTarball,
};
