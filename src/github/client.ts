import type { Octokit } from "octokit";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { gitHubError } from "./errors.js";

/** Longest wait promfleet accepts before retrying a rate-limited request; beyond it, it fails and says when to retry. */
const MAX_RATE_LIMIT_WAIT_S = 60;
const MAX_RATE_LIMIT_RETRIES = 2;

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface GitHub extends RepoRef {
  octokit: Octokit;
  /** Requests sent so far (each retry counts). */
  requests(): number;
  /** Runs one API step, turning failures into a clear PromfleetError naming the step. */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
}

export const TOKEN_HELP =
  "set GITHUB_TOKEN (or GH_TOKEN) to a token with the `repo` scope, or a fine-grained token with contents and pull requests read/write";

/**
 * An octokit for the repository: token from GITHUB_TOKEN or GH_TOKEN, API from GITHUB_API_URL.
 * octokit is loaded here, not at start-up: commands that never talk to GitHub (render) skip its load time.
 */
export async function connectGitHub(ref: RepoRef, env: NodeJS.ProcessEnv = process.env): Promise<GitHub> {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!token) throw new PromfleetError(`no GitHub token: ${TOKEN_HELP}`, ExitCode.badInput);
  const { Octokit } = await import("octokit");
  let count = 0;
  const octokit = new Octokit({
    auth: token,
    baseUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""),
    userAgent: "promfleet",
    // octokit logs request failures with their URL; never with headers, but keep its voice out of ours.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    throttle: {
      onRateLimit: (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) =>
        retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= MAX_RATE_LIMIT_WAIT_S,
      onSecondaryRateLimit: (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) =>
        retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= MAX_RATE_LIMIT_WAIT_S,
    },
    retry: { doNotRetry: [400, 401, 403, 404, 409, 422, 429, 451] },
  });
  octokit.hook.before("request", () => {
    count++;
  });
  return {
    ...ref,
    octokit,
    requests: () => count,
    step: async (name, run) => {
      try {
        return await run();
      } catch (e) {
        throw gitHubError(name, e);
      }
    },
  };
}
