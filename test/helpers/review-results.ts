/** The review action's results, produced the way it produces them: each command once, on a fleet checkout. */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { promfleet } from "./fleet-repo.js";

export interface ReviewResults {
  render: string;
  validate: string;
  diff: string;
}

/** git with an identity, in `dir`. */
export const git = (dir: string, args: string[]) =>
  execa("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args]);

/** render --check, validate and diff against `base`, each one's stdout kept whatever its exit code. */
export async function reviewResults(dir: string, base = "main"): Promise<ReviewResults> {
  const out = await mkdtemp(path.join(os.tmpdir(), "promfleet-review-results-"));
  const results = {
    render: path.join(out, "render.json"),
    validate: path.join(out, "validate.json"),
    diff: path.join(out, "diff.json"),
  };
  const runs: Array<[keyof ReviewResults, string[]]> = [
    ["render", ["render", "--check", "--json"]],
    ["validate", ["validate", "--json"]],
    ["diff", ["diff", "--base", base, "--format", "json"]],
  ];
  for (const [name, args] of runs) await writeFile(results[name], (await promfleet(dir, args)).stdout);
  return results;
}

/** The pr-comment flags that pass these results. */
export const resultFlags = (r: ReviewResults) => [
  "--render",
  r.render,
  "--validate",
  r.validate,
  "--diff",
  r.diff,
];

/** The environment pr-comment runs with in these tests: the fake GitHub, outside Actions, no summary file. */
export const prCommentEnv = (apiUrl: string, token: string): Record<string, string> => ({
  GITHUB_TOKEN: token,
  GITHUB_API_URL: apiUrl,
  GITHUB_REPOSITORY: "acme/fleet",
  GITHUB_ACTIONS: "",
  GITHUB_EVENT_PATH: "",
  GITHUB_STEP_SUMMARY: "",
  PROMFLEET_GITHUB_LOGIN: "",
});
