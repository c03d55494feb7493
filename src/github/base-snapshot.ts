/** The base branch's head commit extracted to a temporary folder (one commit request, one tarball). */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { GitHub } from "./client.js";
import type { Session } from "./session.js";

export interface BaseSnapshot {
  /** The base commit's files, extracted. */
  dir: string;
  sha: string;
  tree: string;
  /** Committer date of the base commit: reused so that the same change always makes the same commit. */
  date: string;
  cleanup(): Promise<void>;
}

/** See `GitHub.snapshotBase`. Kept for callers of the port. */
export function snapshotBase(gh: GitHub, base: string): Promise<BaseSnapshot> {
  return gh.snapshotBase(base);
}

/** The base branch's head in two requests, whatever the repository's size: its commit, then its tarball. */
export async function downloadBase(s: Session, base: string): Promise<BaseSnapshot> {
  const commit = await s.step(`reading branch ${base}`, () =>
    s.octokit.rest.repos.getCommit({ owner: s.owner, repo: s.repo, ref: base }),
  );
  const { sha } = commit.data;
  const archive = await s.step(`downloading ${base} (${sha.slice(0, 7)})`, () =>
    s.octokit.rest.repos.downloadTarballArchive({ owner: s.owner, repo: s.repo, ref: sha }),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-base-"));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await execa("tar", ["-xz", "-C", dir, "--strip-components=1"], {
      input: Buffer.from(archive.data as ArrayBuffer),
    });
  } catch (e) {
    await cleanup();
    throw e;
  }
  return {
    dir,
    sha,
    tree: commit.data.commit.tree.sha,
    date: commit.data.commit.committer?.date ?? "",
    cleanup,
  };
}
