/**
 * The octokit behind the GitHub port. Internal to src/github: commands talk to the `GitHub` port
 * (client.ts), never to octokit.
 */
import type { Octokit } from "octokit";

export interface Session {
  owner: string;
  repo: string;
  octokit: Octokit;
  /** Runs one API step, turning failures into a clear PromfleetError naming the step. */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
}

/** The HTTP status of an octokit error, if it has one. */
export function statusOf(e: unknown): number | undefined {
  return (e as { status?: number } | undefined)?.status;
}
