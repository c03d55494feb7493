/**
 * GitHub failures (401, 403, 404, 409, 422, rate limits, network) as PromfleetErrors naming the step and
 * the fix.
 */
import { ExitCode, PromfleetError } from "../util/errors.js";

interface HttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: { message?: string } };
}

/** What a person reads when a GitHub call fails: the step, what GitHub said, and what to do. */
export function gitHubError(step: string, e: unknown): PromfleetError {
  if (e instanceof PromfleetError) return e;
  const err = e as HttpError;
  const headers = err.response?.headers ?? {};
  const said = err.response?.data?.message ?? err.message ?? String(e);
  const fail = (why: string) => new PromfleetError(`GitHub: ${step} failed: ${why}`, ExitCode.remoteFailed);
  // octokit reports a connection that failed or closed as a 500 without a response.
  if (err.status === undefined || !err.response)
    return fail(`no answer (${said}); check the network and GITHUB_API_URL, then run the same command again`);
  switch (err.status) {
    case 401:
      return fail("the token was rejected (401 Bad credentials); set a valid GITHUB_TOKEN or GH_TOKEN");
    case 403:
    case 429:
      return fail(forbidden(headers, said, err.status));
    case 404:
      return fail(`not found (404): ${said}; check --repo, --base and that the token can see the repository`);
    case 409:
      return fail(`conflict (409): ${said}; run the same command again to rebuild on the current base`);
    case 422:
      return fail(`GitHub refused the request (422): ${said}`);
    default:
      return fail(`HTTP ${err.status}: ${said}`);
  }
}

function forbidden(headers: Record<string, string | undefined>, said: string, status: number): string {
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]);
    const when = Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : "later";
    return `rate limit exhausted (${status}); it resets at ${when}, run the command again then`;
  }
  if (headers["retry-after"] || /secondary rate limit/i.test(said))
    return `secondary rate limit (${status}); wait ${headers["retry-after"] ?? "a minute"} s and run the command again`;
  const needed = headers["x-accepted-oauth-scopes"];
  const granted = headers["x-oauth-scopes"];
  if (needed !== undefined)
    return `the token lacks a permission (${status}: ${said}); needed scope: ${needed || "repo"}, granted: ${granted || "none"} (fine-grained tokens: contents and pull requests read/write)`;
  return `forbidden (${status}): ${said}`;
}
