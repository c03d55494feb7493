/** Which GitHub repository, and which GitHub (github.com or an Enterprise server), a fleet lives on. */
import { execa } from "execa";
import type { FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { PUBLIC_API_URL, type RepoRef } from "./client.js";

const NAME = "[A-Za-z0-9_.-]+";

/**
 * owner/name and the REST API of a GitHub remote URL: https://host/owner/name(.git), git@host:owner/name(.git),
 * ssh://… The API follows the host, so a GitHub Enterprise token is only ever sent to its own server.
 */
export function parseRepoUrl(url: string): RepoRef | undefined {
  const m = new RegExp(
    `^(?:(https?)://(?:[^@/]+@)?([^/:]+)(?::\\d+)?/|ssh://(?:[^@/]+@)?([^/:]+)(?::\\d+)?/|[^@\\s]+@([^:\\s]+):)(${NAME})/(${NAME}?)(?:\\.git)?/?$`,
  ).exec(url);
  if (!m) return undefined;
  const host = (m[2] ?? m[3] ?? m[4]) as string;
  const web = m[1] ? new URL(url).origin : `https://${host}`;
  return { owner: m[5] as string, repo: m[6] as string, apiUrl: apiUrlFor(web) };
}

/**
 * The REST API of a GitHub web origin: api.github.com for github.com, api.<name>.ghe.com for GitHub
 * Enterprise Cloud with data residency, <origin>/api/v3 for GitHub Enterprise Server.
 */
export function apiUrlFor(webOrigin: string): string {
  const url = new URL(webOrigin);
  const host = url.hostname.toLowerCase();
  if (host === "github.com" || host === "www.github.com") return PUBLIC_API_URL;
  if (host.endsWith(".ghe.com")) return `https://api.${host}`;
  return `${url.origin}/api/v3`;
}

/**
 * --repo owner/name, else the fleet root's `origin` remote, else the fleet spec's git.url. The API comes
 * from the origin remote (or git.url) even with --repo, so that a GitHub Enterprise fleet stays there.
 */
export function resolveRepo(flag: string | undefined, spec: FleetSpec): Promise<RepoRef> {
  return resolveRepoAt(flag, spec.root, async () => spec.git.url);
}

/**
 * As resolveRepo, for a checkout whose spec is read only when needed: `named` is --repo, or in a workflow
 * GITHUB_REPOSITORY (then GITHUB_API_URL names the API).
 */
export async function resolveRepoAt(
  named: string | undefined,
  root: string,
  specGitUrl: () => Promise<string>,
): Promise<RepoRef> {
  const flagged = named === undefined ? undefined : parseRepoFlag(named);
  const fromRemote = (await originOf(root)) ?? parseRepoUrl(await specGitUrl());
  const found = flagged
    ? { ...flagged, ...(fromRemote?.apiUrl ? { apiUrl: fromRemote.apiUrl } : {}) }
    : fromRemote;
  if (!found)
    throw new PromfleetError(
      `cannot tell which GitHub repository to use; pass --repo owner/name`,
      ExitCode.badInput,
    );
  return found;
}

/** owner/name as --repo or GITHUB_REPOSITORY spell it; a clear error for anything else. */
export function parseRepoFlag(flag: string, what = "--repo"): RepoRef {
  const m = new RegExp(`^(${NAME})/(${NAME})$`).exec(flag);
  if (!m) throw new PromfleetError(`${what} ${flag} is not owner/name`, ExitCode.badInput);
  return { owner: m[1] as string, repo: m[2] as string };
}

/** The repository the `origin` remote of `root` names, if it is a GitHub-style URL. */
export async function originOf(root: string): Promise<RepoRef | undefined> {
  const origin = await execa("git", ["-C", root, "remote", "get-url", "origin"], { reject: false });
  return origin.exitCode === 0 ? parseRepoUrl(origin.stdout.trim()) : undefined;
}
