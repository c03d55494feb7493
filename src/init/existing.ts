/** How init's files meet a repository that already has some of them (see ExistingPolicy). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../util/errors.js";
import type { ScaffoldFile } from "./scaffold.js";

export interface ResolvedFiles {
  /** What to write, by repository path. */
  writes: Map<string, string>;
  /** Existing files left as they were although init has its own (e.g. README.md). */
  kept: string[];
  /** Existing files init appended its missing lines to (e.g. .gitignore). */
  merged: string[];
  /** Existing files init would have to overwrite. */
  conflicts: Problem[];
}

export async function resolveExisting(dir: string, files: Map<string, ScaffoldFile>): Promise<ResolvedFiles> {
  const out: ResolvedFiles = { writes: new Map(), kept: [], merged: [], conflicts: [] };
  for (const [rel, file] of files) {
    const current = await readFile(path.join(dir, rel), "utf8").catch(() => undefined);
    if (current === undefined) out.writes.set(rel, file.content);
    else if (file.existing === "keep") out.kept.push(rel);
    else if (file.existing === "lines") {
      const merged = appendMissingLines(current, file.content);
      if (merged !== current) {
        out.writes.set(rel, merged);
        out.merged.push(rel);
      }
    } else if (current !== file.content)
      out.conflicts.push({
        file: rel,
        message: "exists, and promfleet init writes its own",
        fix: "move it aside (or delete it) and run init again; compare and merge your changes afterwards",
      });
  }
  return out;
}

/** `current` plus, under a "# promfleet" line, every line of `ours` (but comments) it lacks. */
function appendMissingLines(current: string, ours: string): string {
  const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = ours.split("\n").filter((l) => l && !l.startsWith("#") && !have.has(l));
  if (missing.length === 0) return current;
  const separator = current === "" ? "" : current.endsWith("\n") ? "\n" : "\n\n";
  return `${current}${separator}# promfleet\n${missing.join("\n")}\n`;
}
