/** Edits nested git trees in memory (loading subtrees lazily) and writes only dirty ones back. */
import type { GitStore } from "./git-store.js";

interface Leaf {
  kind: "leaf";
  mode: string;
  type: string;
  sha: string;
}

interface Dir {
  kind: "dir";
  sha?: string;
  children?: Map<string, Node>;
  dirty: boolean;
}

type Node = Leaf | Dir;

export interface TreeItem {
  mode: string;
  type: string;
  sha: string;
}

export const TREE_MODE = "040000";

export class TreeBuilder {
  private readonly root: Dir;

  constructor(
    private readonly store: GitStore,
    baseTree?: string,
  ) {
    this.root = { kind: "dir", sha: baseTree, dirty: !baseTree };
  }

  private async children(dir: Dir): Promise<Map<string, Node>> {
    if (dir.children) return dir.children;
    const entries = dir.sha ? await this.store.lsTree(dir.sha) : [];
    dir.children = new Map(entries.map((e) => [e.path, toNode(e)]));
    return dir.children;
  }

  /** walks to the parent directory of `path`, creating directories when `create` */
  private async parentOf(path: string, create: boolean): Promise<{ dir: Dir; name: string } | undefined> {
    const parts = path.split("/");
    const name = parts.pop() ?? "";
    let dir = this.root;
    const trail: Dir[] = [dir];
    for (const part of parts) {
      const kids = await this.children(dir);
      let next = kids.get(part);
      if (next?.kind !== "dir") {
        if (!create) return undefined;
        next = { kind: "dir", children: new Map(), dirty: true };
        kids.set(part, next);
      }
      dir = next;
      trail.push(dir);
    }
    await this.children(dir);
    if (create) trail.forEach((d) => (d.dirty = true));
    return { dir, name };
  }

  async set(path: string, item: TreeItem): Promise<void> {
    const at = await this.parentOf(path, true);
    at?.dir.children?.set(at.name, toNode({ ...item, path }));
  }

  /** removes a file or directory; false when nothing exists at `path` */
  async remove(path: string): Promise<boolean> {
    const at = await this.parentOf(path, false);
    if (!at?.dir.children?.has(at.name)) return false;
    at.dir.children.delete(at.name);
    await this.parentOf(path, true);
    return true;
  }

  async has(path: string): Promise<boolean> {
    const at = await this.parentOf(path, false);
    return Boolean(at?.dir.children?.has(at.name));
  }

  /** writes dirty trees bottom-up and returns the root tree sha */
  async write(): Promise<string> {
    return (await this.writeDir(this.root)) ?? (await this.store.mktree([]));
  }

  private async writeDir(dir: Dir): Promise<string | undefined> {
    if (!dir.dirty) return dir.sha;
    const kids = [...(await this.children(dir)).entries()];
    const written = await Promise.all(
      kids.map(async ([name, node]) => {
        if (node.kind === "leaf") return { path: name, mode: node.mode, type: node.type, sha: node.sha };
        const sha = await this.writeDir(node);
        return sha ? { path: name, mode: TREE_MODE, type: "tree", sha } : undefined;
      }),
    );
    const entries = written.filter((e) => e !== undefined);
    if (entries.length === 0) return undefined;
    dir.sha = await this.store.mktree(entries);
    dir.dirty = false;
    return dir.sha;
  }
}

function toNode(e: TreeItem & { path: string }): Node {
  if (e.type === "tree") return { kind: "dir", sha: e.sha, dirty: false };
  return { kind: "leaf", mode: e.mode, type: e.type, sha: e.sha };
}
