/** Test-side helpers operating directly on the fake's state (no HTTP). */
import type { FakeEnv } from "./context.js";
import { ZERO_SHA } from "./git-store.js";
import { mergePullRequest } from "./pull-service.js";
import { now } from "./state.js";
import type { FakeDeployment, FakePull } from "./types.js";
import { buildTree, type TreeEntryInput } from "./tree-edit.js";

export function listPulls(env: FakeEnv): FakePull[] {
  return env.state.pulls.map((p) => ({
    number: p.number,
    state: p.state,
    head: p.head,
    base: p.base,
    title: p.title,
    body: p.body,
    labels: [...p.labels],
    merged: p.merged,
  }));
}

export function listComments(
  env: FakeEnv,
  issueNumber: number,
): Array<{ id: number; body: string; author: string }> {
  return env.state.comments
    .filter((c) => c.issueNumber === issueNumber)
    .map((c) => ({ id: c.id, body: c.body, author: c.author ?? env.site.login }));
}

export function plantComment(env: FakeEnv, issueNumber: number, body: string, author: string): number {
  if (!env.state.pull(issueNumber)) throw new Error(`fake-github: no pull request #${issueNumber}`);
  const t = now();
  const id = env.state.nextId();
  env.state.comments.push({ id, issueNumber, body, author, createdAt: t, updatedAt: t });
  return id;
}

export function listDeployments(env: FakeEnv): FakeDeployment[] {
  return env.state.deployments.map((d) => ({
    id: d.id,
    ref: d.ref,
    environment: d.environment,
    statuses: d.statuses.map((s) => s.state),
    payload: d.payload,
    ...(d.description !== null ? { description: d.description } : {}),
  }));
}

export function mergePull(env: FakeEnv, number: number): Promise<string> {
  return mergePullRequest(env, number, { method: "fast-forward-if-possible" });
}

function fileEntries(files: Record<string, string | null>): TreeEntryInput[] {
  return Object.entries(files).map(([path, content]) =>
    content === null
      ? { path, mode: "100644", type: "blob", sha: null }
      : { path, mode: "100644", type: "blob", content },
  );
}

/** commits `files` on top of `branch` (created from the default branch when missing) */
export async function commitToBranch(
  env: FakeEnv,
  branch: string,
  files: Record<string, string | null>,
  message: string,
): Promise<string> {
  const ref = `refs/heads/${branch}`;
  const old = await env.store.readRef(ref);
  const parent = old ?? (await env.store.readRef(`refs/heads/${env.site.defaultBranch}`));
  const baseTree = parent ? (await env.store.readCommit(parent)).tree : undefined;
  const tree = await buildTree(env.store, fileEntries(files), baseTree);
  const author = { ...env.user, date: new Date().toISOString() };
  const sha = await env.store.commitTree({ tree, parents: parent ? [parent] : [], message, author });
  await env.store.updateRef(ref, sha, old ?? ZERO_SHA);
  return sha;
}
