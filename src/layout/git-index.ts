/**
 * Git's word on clusters/: which files it tracks, and which of them are, by its stat cache, exactly
 * their index entry (so their blob id is known without reading them). Only ever a shortcut: outside a
 * git repository, or when git fails, there is no listing and the tree is read from disk.
 */
import * as crypto from "node:crypto";
import { run } from "../util/process.js";
import { CLUSTERS_DIR } from "./names.js";

/** What git says about the files under clusters/, paths repository-relative (relative to the root). */
export interface GitListing {
  /** Path -> blob id of the files git vouches for: tracked, unchanged since indexed (stat and racy checks). */
  vouched: Map<string, string>;
  /** Every other path git names (untracked, modified, deleted, assume-unchanged, …): look at the disk. */
  unsure: string[];
}

/**
 * `<tag> <mode> <40-hex id> <stage>\t<path>`: where the path starts in a tracked entry of `ls-files -s -v`.
 * Only regular files (modes 100644, 100755) can be vouched for; symlinks and submodules are looked at on disk.
 */
const PATH_OFFSET = 52;

/**
 * Runs `git ls-files` in `root` for clusters/: tracked entries with their blob ids (-s), modified and
 * deleted ones (-m, tagged C), and every untracked file, ignored ones included (-o without exclusions).
 * -v tags assume-unchanged entries in lowercase; those and skip-worktree ones (S) are not vouched for, as
 * git does not look at them. fsmonitor is off so that only git's own stat comparison counts. Undefined
 * when git is missing, `root` is not in a work tree, or the repository does not use SHA-1 ids (records
 * name SHA-1 blob ids).
 * The tracked files' stat check and the walk for untracked files run as two processes at once: on a
 * large fleet each is a few tenths of a second of mostly kernel time, and one git process does them one
 * after the other. The listing does not depend on the order of its entries.
 */
export async function listClustersInGit(root: string): Promise<GitListing | undefined> {
  const config = ["-c", "core.fsmonitor=false", "-c", "core.checkStat=default", "-c", "core.trustctime=true"];
  const listing = (selection: string[]) =>
    run("git", [...config, "ls-files", "-z", ...selection, "-v", "--", CLUSTERS_DIR], { cwd: root });
  const [tracked, untracked] = await Promise.all([listing(["-s", "-m"]), listing(["-o"])]);
  if (tracked.exitCode !== 0 || untracked.exitCode !== 0) return undefined;
  return parseListing(Buffer.concat([tracked.stdout, untracked.stdout]).toString("utf8"));
}

/**
 * The listing in `git ls-files -z -s -m -o -v` output; undefined when an entry is not in that shape (a
 * SHA-256 repository's ids are longer). Written with fixed offsets: 10,000 clusters are 70,000 entries.
 */
export function parseListing(output: string): GitListing | undefined {
  const tracked = new Map<string, string>();
  const unsure = new Set<string>();
  for (const entry of output.split("\0")) {
    if (entry === "") continue;
    if (entry.startsWith("? ")) {
      unsure.add(entry.slice(2));
      continue;
    }
    if (entry[1] !== " " || entry[8] !== " " || entry[49] !== " " || entry[PATH_OFFSET - 1] !== "\t")
      return undefined;
    const rel = entry.slice(PATH_OFFSET);
    const regular = entry.startsWith("100644", 2) || entry.startsWith("100755", 2);
    if (entry[0] === "H" && entry[50] === "0" && regular) tracked.set(rel, entry.slice(9, 49));
    else unsure.add(rel);
  }
  for (const rel of unsure) tracked.delete(rel);
  return { vouched: tracked, unsure: [...unsure] };
}

/** Node ≥ 20.12's one-shot hash: no Hash object per file (a full render names every file it writes). */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

/**
 * The id git gives a blob of this content: `blob <byte length>\0` and the bytes, hashed with the
 * repository's object format (SHA-1, or SHA-256 where the repository uses it).
 */
export function gitBlobId(content: string | Uint8Array, format: "sha1" | "sha256" = "sha1"): string {
  if (typeof content === "string" && oneShot)
    return oneShot(format, `blob ${Buffer.byteLength(content, "utf8")}\0${content}`, "hex");
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return crypto.createHash(format).update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}
