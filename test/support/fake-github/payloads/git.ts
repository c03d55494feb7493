/** Git Data API payloads (refs, blobs, trees, commits). */
import type { CommitInfo, TreeEntry } from "../git-store.js";
import { nodeId, repoApi, repoHtml, type Site } from "./site.js";

export function gitRef(s: Site, ref: string, sha: string, type = "commit") {
  const kind = type === "tag" ? "tags" : `${type}s`;
  return {
    ref,
    node_id: nodeId("Ref", ref),
    url: repoApi(s, `/git/${ref}`),
    object: { sha, type, url: repoApi(s, `/git/${kind}/${sha}`) },
  };
}

export function shortBlob(s: Site, sha: string) {
  return { url: repoApi(s, `/git/blobs/${sha}`), sha };
}

export function blob(s: Site, sha: string, data: Buffer) {
  const b64 = data.toString("base64").replace(/(.{60})/g, "$1\n");
  return {
    sha,
    node_id: nodeId("Blob", sha),
    size: data.length,
    url: repoApi(s, `/git/blobs/${sha}`),
    content: data.length > 0 ? `${b64}\n` : "",
    encoding: "base64",
  };
}

export function gitTree(s: Site, sha: string, entries: TreeEntry[]) {
  return {
    sha,
    url: repoApi(s, `/git/trees/${sha}`),
    tree: entries.map((e) => ({
      path: e.path,
      mode: e.mode,
      type: e.type,
      sha: e.sha,
      ...(e.size !== undefined ? { size: e.size } : {}),
      ...(e.type === "commit" ? {} : { url: repoApi(s, `/git/${e.type}s/${e.sha}`) }),
    })),
    truncated: false,
  };
}

export function gitCommit(s: Site, c: CommitInfo) {
  return {
    sha: c.sha,
    node_id: nodeId("Commit", c.sha),
    url: repoApi(s, `/git/commits/${c.sha}`),
    html_url: repoHtml(s, `/commit/${c.sha}`),
    author: c.author,
    committer: c.committer,
    tree: { sha: c.tree, url: repoApi(s, `/git/trees/${c.tree}`) },
    message: c.message,
    parents: c.parents.map((p) => ({
      sha: p,
      url: repoApi(s, `/git/commits/${p}`),
      html_url: repoHtml(s, `/commit/${p}`),
    })),
    verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
  };
}
