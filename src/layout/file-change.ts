/**
 * One change to one repository file, as a pull request or the working tree applies it.
 * Paths are repository-relative with forward slashes.
 */
export type FileMode = "100644" | "100755";

export type FileChange =
  { kind: "write"; path: string; content: string; mode: FileMode } | { kind: "delete"; path: string };

export function writeFile(path: string, content: string, mode: FileMode = "100644"): FileChange {
  return { kind: "write", path, content, mode };
}

export function deleteFile(path: string): FileChange {
  return { kind: "delete", path };
}

/** Sorted by path, the last change to a path winning: the order a commit and a listing use. */
export function normaliseChanges(changes: Iterable<FileChange>): FileChange[] {
  const byPath = new Map<string, FileChange>();
  for (const c of changes) byPath.set(c.path, c);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
