/**
 * The GitHub port: the operations promfleet needs from GitHub, implemented with octokit. octokit itself
 * stays inside src/github.
 */
import type { Octokit } from "octokit";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { downloadBase, type BaseSnapshot } from "./base-snapshot.js";
import { ensureComment, type CommentResult } from "./comments.js";
import { readFileAt, subfoldersAt } from "./contents.js";
import { createDeployment, type DeploymentRequest } from "./deployments.js";
import { gitHubError } from "./errors.js";
import { authenticatedLogin } from "./identity.js";
import { normaliseChanges, type FileChange } from "../layout/file-change.js";
import {
  commitAndOpen,
  commitParents,
  createCommit,
  wasMerged,
  mergedPullOf,
  type CommitBase,
  openPullOf,
  readPull,
  type ChangeProposal,
  type OpenPull,
  type ProposalResult,
  type PullState,
} from "./pull-request.js";
import type { Session } from "./session.js";

/** Longest wait promfleet accepts before retrying a rate-limited request; beyond it, it fails and says when to retry. */
const MAX_RATE_LIMIT_WAIT_S = 60;
const MAX_RATE_LIMIT_RETRIES = 2;

export const PUBLIC_API_URL = "https://api.github.com";

export interface RepoRef {
  owner: string;
  repo: string;
  /** The REST API the repository lives behind (GitHub Enterprise); GITHUB_API_URL wins, api.github.com is the default. */
  apiUrl?: string;
}

export interface GitHub extends RepoRef {
  /** Requests sent so far (each retry counts). */
  requests(): number;
  /** Runs one API step, turning failures into a clear PromfleetError naming the step. */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  /** A file's text at a ref (branch, tag or commit); undefined when it does not exist there. */
  readFile(path: string, ref: string): Promise<string | undefined>;
  /** The folders inside `folder` at a commit; undefined when `folder` does not exist there. */
  subfolders(folder: string, sha: string): Promise<string[] | undefined>;
  /** Number, state, head and base of a pull request. */
  pull(number: number): Promise<PullState>;
  /** Creates or updates the one comment on a pull request that starts with `marker` and that promfleet's identity wrote. */
  ensureComment(issue: number, marker: string, body: string): Promise<CommentResult>;
  /** Creates a deployment and its first status; returns its id. */
  createDeployment(d: DeploymentRequest): Promise<number>;
  /** The base branch's head commit, extracted to a temporary folder. */
  snapshotBase(base: string): Promise<BaseSnapshot>;
  /** The open pull request from `branch` into `base`, if any. */
  findOpenPull(base: string, branch: string): Promise<OpenPull | undefined>;
  /**
   * One commit on top of the base holding every file of the change, on `branch`, and one pull request for
   * it, created or updated; repeatable (see pull-request.ts).
   */
  proposeChange(base: BaseSnapshot, p: ChangeProposal, open?: OpenPull): Promise<ProposalResult>;
  /** The sha proposeChange's commit for `changes` on `base` has, made without moving any branch. */
  commitFor(base: CommitBase, changes: FileChange[], message: string): Promise<string>;
  /** The parents of a commit. */
  commitParents(sha: string): Promise<string[]>;
  /** Whether a pull request from `branch` into `base` was merged. */
  wasMerged(base: string, branch: string): Promise<boolean>;
  /** The most recently merged pull request from `branch` into `base`, if any. */
  findMergedPull(base: string, branch: string): Promise<{ number: number; url: string } | undefined>;
}

export const TOKEN_HELP =
  "set GITHUB_TOKEN (or GH_TOKEN) to a token with the `repo` scope, or a fine-grained token with contents and pull requests read/write";

/**
 * The GitHub port for the repository: token from GITHUB_TOKEN or GH_TOKEN, API from GITHUB_API_URL, else
 * the repository's own API (a GitHub Enterprise token never goes to api.github.com), else api.github.com.
 * octokit is loaded here, not at start-up: commands that never talk to GitHub (render) skip its load time.
 */
export async function connectGitHub(ref: RepoRef, env: NodeJS.ProcessEnv = process.env): Promise<GitHub> {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!token) throw new PromfleetError(`no GitHub token: ${TOKEN_HELP}`, ExitCode.badInput);
  let count = 0;
  const octokit = await createOctokit(token, env.GITHUB_API_URL || ref.apiUrl || PUBLIC_API_URL);
  octokit.hook.before("request", () => {
    count++;
  });
  const session: Session = {
    owner: ref.owner,
    repo: ref.repo,
    octokit,
    step: async (name, run) => {
      try {
        return await run();
      } catch (e) {
        throw gitHubError(name, e);
      }
    },
  };
  let login: Promise<string> | undefined;
  const me = () => (login ??= authenticatedLogin(session, env));
  return {
    ...ref,
    requests: () => count,
    step: session.step,
    readFile: (path, at) => readFileAt(session, path, at),
    subfolders: (folder, sha) => subfoldersAt(session, folder, sha),
    pull: (number) => readPull(session, number),
    ensureComment: async (issue, marker, body) => ensureComment(session, await me(), issue, marker, body),
    createDeployment: (d) => createDeployment(session, d),
    snapshotBase: (base) => downloadBase(session, base),
    findOpenPull: (base, branch) => openPullOf(session, base, branch),
    proposeChange: (base, p, open) => commitAndOpen(session, base, p, open),
    commitFor: (base, changes, message) => createCommit(session, base, normaliseChanges(changes), message),
    commitParents: (sha) => commitParents(session, sha),
    wasMerged: (base, branch) => wasMerged(session, base, branch),
    findMergedPull: (base, branch) => mergedPullOf(session, base, branch),
  };
}

async function createOctokit(token: string, apiUrl: string): Promise<Octokit> {
  const { Octokit } = await import("octokit");
  const retryable = (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) =>
    retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= MAX_RATE_LIMIT_WAIT_S;
  return new Octokit({
    auth: token,
    baseUrl: apiUrl.replace(/\/+$/, ""),
    userAgent: "promfleet",
    // octokit logs request failures with their URL; never with headers, but keep its voice out of ours.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    throttle: { onRateLimit: retryable, onSecondaryRateLimit: retryable },
    retry: { doNotRetry: [400, 401, 403, 404, 409, 422, 429, 451] },
  });
}
