import { execa } from "execa";
import type { FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { RepoRef } from "./client.js";

/** owner/name from a GitHub remote URL: https://host/owner/name(.git), git@host:owner/name(.git), ssh://… */
export function parseRepoUrl(url: string): RepoRef | undefined {
  const m =
    /^(?:https?:\/\/[^/]+\/|ssh:\/\/(?:[^@/]+@)?[^/]+\/|[^@\s]+@[^:\s]+:)([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      url,
    );
  return m ? { owner: m[1] as string, repo: m[2] as string } : undefined;
}

/** --repo owner/name, else the fleet root's `origin` remote, else the fleet spec's git.url. */
export async function resolveRepo(flag: string | undefined, spec: FleetSpec): Promise<RepoRef> {
  if (flag) {
    const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(flag);
    if (!m) throw new PromfleetError(`--repo ${flag} is not owner/name`, ExitCode.badInput);
    return { owner: m[1] as string, repo: m[2] as string };
  }
  const origin = await execa("git", ["-C", spec.root, "remote", "get-url", "origin"], { reject: false });
  const fromOrigin = origin.exitCode === 0 ? parseRepoUrl(origin.stdout.trim()) : undefined;
  const found = fromOrigin ?? parseRepoUrl(spec.git.url);
  if (!found)
    throw new PromfleetError(
      `cannot tell which GitHub repository to use; pass --repo owner/name`,
      ExitCode.badInput,
    );
  return found;
}
