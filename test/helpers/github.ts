import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { Octokit } from "octokit";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github/index.js";
import { exampleFleetRepo, promfleet } from "./fleet-repo.js";

export const TOKEN = "ghp_promfleetTestToken0123456789abcdef";

export interface GitHubFleet {
  fake: FakeGitHub;
  /** A local clone-like fleet root, used for the spec's git settings only. */
  dir: string;
  run(args: string[], env?: Record<string, string>): ReturnType<typeof promfleet>;
}

/** A fake GitHub whose default branch holds `seed` (a rendered fleet), and a local fleet dir pointing at it. */
export async function githubFleet(seed?: string): Promise<GitHubFleet> {
  const dir = seed ?? (await exampleFleetRepo());
  if (!seed) await promfleet(dir, ["render"]);
  const fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: dir });
  const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.url };
  return {
    fake,
    dir,
    run: (args, extra = {}) => promfleet(dir, [...args, "--repo", "acme/fleet"], { ...env, ...extra }),
  };
}

/** Clones the fake's bare repository at `branch` with real git. */
export async function cloneBranch(fake: FakeGitHub, branch: string): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-clone-")), "c");
  await execa("git", ["clone", "-q", "--branch", branch, fake.bareRepo, dir]);
  return dir;
}

export async function git(dir: string, args: string[]): Promise<string> {
  return (await execa("git", ["-C", dir, ...args])).stdout.trim();
}

/** Opens pull request #1 from `feature` into `main` on the fake, as a person would on GitHub. */
export async function openFeaturePull(fake: FakeGitHub): Promise<void> {
  const octokit = new Octokit({ auth: TOKEN, baseUrl: fake.url, retry: { enabled: false } });
  await octokit.rest.pulls.create({
    owner: "acme",
    repo: "fleet",
    head: "feature",
    base: "main",
    title: "t",
  });
}
