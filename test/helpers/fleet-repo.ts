import { cp, mkdtemp, readFile, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Reference data vendored from the seed material (see test/fixtures/README.md). */
export const fixturesDir = path.join(repoRoot, "test", "fixtures");

/** The smallest valid fleet spec: an aggregator with an ingress and one agent. */
export const MINIMAL_FLEET = `apiVersion: promfleet.dev/v1alpha1
kind: Fleet
package:
  refName: prometheus.tanzu.vmware.com
  version: 2.43.0+vmware.2-tkg.1
git:
  url: https://github.com/example/fleet.git
clusters:
  - name: hub
    role: aggregator
    ingress:
      host: prometheus.example.com
  - name: edge-1
    role: agent
`;

/** A throwaway fleet repository holding this repo's example fleet (fleet.yaml and overlays/). */
export async function exampleFleetRepo(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-test-"));
  await cp(path.join(repoRoot, "fleet.yaml"), path.join(dir, "fleet.yaml"));
  await cp(path.join(repoRoot, "overlays"), path.join(dir, "overlays"), { recursive: true });
  return dir;
}

export async function writeRepoFile(dir: string, rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

export async function readRepoFile(dir: string, rel: string): Promise<string> {
  return readFile(path.join(dir, rel), "utf8");
}

/** Runs the built CLI (bin/promfleet.js) the way a user does; never throws on a non-zero exit. */
export async function promfleet(dir: string, args: string[], env: Record<string, string> = {}) {
  const result = await execa("node", [path.join(repoRoot, "bin", "promfleet.js"), "-C", dir, ...args], {
    reject: false,
    env: { NO_COLOR: "1", ...env },
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** git in `dir` with a test identity; rejects on a non-zero exit. */
export type RepoGit = (...args: string[]) => Promise<{ stdout: string }>;

/** Makes `dir` a git repository whose one commit ("base", on main) holds everything in it; returns its git. */
export async function committedRepo(dir: string): Promise<RepoGit> {
  const git: RepoGit = (...args) =>
    execa("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-qm", "base");
  return git;
}
