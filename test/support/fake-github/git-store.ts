/** Thin wrapper over git plumbing commands operating on a bare repository. */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { ObjectTypeReader } from "./object-types.js";

export interface Identity {
  name: string;
  email: string;
  /** ISO 8601 date; defaults to now */
  date?: string;
}

export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  size?: number;
  path: string;
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: Required<Identity>;
  committer: Required<Identity>;
  message: string;
}

export interface NewCommit {
  tree: string;
  parents: string[];
  message: string;
  author: Identity;
  committer?: Identity;
}

export const ZERO_SHA = "0000000000000000000000000000000000000000";

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("GIT_")) env[k] = v;
  return { ...env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0" };
}

const ENV = cleanEnv();

function toGitDate(iso: string | undefined): string {
  const ms = iso ? Date.parse(iso) : Date.now();
  return `${Math.floor((Number.isNaN(ms) ? Date.now() : ms) / 1000)} +0000`;
}

export function isoFromEpoch(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function parseIdentity(line: string): Required<Identity> {
  const m = /^(.*) <(.*)> (\d+) [+-]\d{4}$/.exec(line);
  return { name: m?.[1] ?? "", email: m?.[2] ?? "", date: isoFromEpoch(Number(m?.[3] ?? 0)) };
}

/** a ref name git itself would accept, whose loose file therefore lies inside refs/ */
function plainRefName(fullRef: string): boolean {
  const parts = fullRef.split("/");
  return (
    parts.length >= 3 &&
    parts[0] === "refs" &&
    parts.every(
      (p) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(p) && !p.endsWith(".lock") && !p.endsWith("."),
    ) &&
    !fullRef.includes("..")
  );
}

export class GitStore {
  private readonly typeReader: ObjectTypeReader;

  constructor(readonly dir: string) {
    this.typeReader = new ObjectTypeReader(dir, ENV);
  }

  /** stops the long-lived cat-file process (call before deleting the repository) */
  close(): void {
    this.typeReader.close();
  }

  async run(
    args: string[],
    opts: { input?: string | Uint8Array; env?: Record<string, string>; reject?: boolean } = {},
  ) {
    const result = await execa("git", ["--git-dir", this.dir, ...args], {
      input: opts.input,
      env: { ...ENV, ...opts.env },
      extendEnv: false,
      reject: opts.reject ?? true,
      stripFinalNewline: false,
    });
    return { stdout: String(result.stdout), exitCode: result.exitCode ?? 0 };
  }

  private async out(args: string[], input?: string | Uint8Array): Promise<string> {
    return (await this.run(args, { input })).stdout.trim();
  }

  static async init(dir: string, defaultBranch: string): Promise<GitStore> {
    await execa("git", ["init", "--bare", "--quiet", "--initial-branch", defaultBranch, dir], {
      env: ENV,
      extendEnv: false,
    });
    return new GitStore(dir);
  }

  hashBlob(data: Uint8Array | string): Promise<string> {
    return this.out(["hash-object", "-w", "--stdin"], data);
  }

  async hashFiles(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const out = await this.out(
      ["hash-object", "-w", "--stdin-paths", "--no-filters"],
      paths.join("\n") + "\n",
    );
    return out.split("\n");
  }

  /** writes many blobs with one git process (as hashBlob does each: no filters) */
  async hashBlobs(contents: string[]): Promise<string[]> {
    if (contents.length === 0) return [];
    const dir = await mkdtemp(join(tmpdir(), "fake-github-blobs-"));
    try {
      const paths = contents.map((_, i) => join(dir, String(i)));
      await Promise.all(contents.map((c, i) => writeFile(paths[i] as string, c)));
      return await this.hashFiles(paths);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async readBlob(sha: string): Promise<Buffer> {
    const r = await execa("git", ["--git-dir", this.dir, "cat-file", "blob", sha], {
      env: ENV,
      extendEnv: false,
      encoding: "buffer",
      stripFinalNewline: false,
    });
    return Buffer.from(r.stdout);
  }

  /** object type per sha ("missing" when absent) */
  async objectTypes(shas: string[]): Promise<Map<string, string>> {
    const types = new Map<string, string>();
    const valid = shas.filter((s) => /^[0-9a-f]{40}$/.test(s));
    shas.filter((s) => !valid.includes(s)).forEach((s) => types.set(s, "missing"));
    if (valid.length === 0) return types;
    (await this.typeReader.types(valid)).forEach((type, i) => types.set(valid[i] ?? "", type));
    return types;
  }

  async objectType(sha: string): Promise<string> {
    return (await this.objectTypes([sha])).get(sha) ?? "missing";
  }

  async size(sha: string): Promise<number> {
    return Number(await this.out(["cat-file", "-s", sha]));
  }

  /** rev-parse with a peel suffix such as ^{commit} / ^{tree}; undefined if it does not resolve */
  async resolve(rev: string, peel: "commit" | "tree" = "commit"): Promise<string | undefined> {
    if (rev.startsWith("-")) return undefined;
    const r = await this.run(["rev-parse", "--verify", "--quiet", `${rev}^{${peel}}`], { reject: false });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }

  /** object id at `path` inside a commit or tree (no peeling); undefined if absent */
  async resolvePath(treeish: string, path: string): Promise<string | undefined> {
    const r = await this.run(["rev-parse", "--verify", "--quiet", `${treeish}:${path}`], { reject: false });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }

  async lsTree(tree: string, recursive = false): Promise<TreeEntry[]> {
    const args = ["ls-tree", "-z", "-l", ...(recursive ? ["-r", "-t"] : []), tree];
    const { stdout } = await this.run(args);
    return stdout
      .split("\0")
      .filter(Boolean)
      .map((rec) => {
        const tab = rec.indexOf("\t");
        const [mode = "", type = "", sha = "", size = "-"] = rec.slice(0, tab).split(/\s+/);
        return { mode, type, sha, path: rec.slice(tab + 1), ...(size === "-" ? {} : { size: Number(size) }) };
      });
  }

  async mktree(entries: Array<Omit<TreeEntry, "size">>): Promise<string> {
    const input = entries.map((e) => `${e.mode} ${e.type} ${e.sha}\t${e.path}`).join("\0");
    const missing = entries.some((e) => e.type === "commit") ? ["--missing"] : [];
    return this.out(["mktree", "-z", ...missing], input ? input + "\0" : "");
  }

  async commitTree(c: NewCommit): Promise<string> {
    const committer = c.committer ?? c.author;
    const env = {
      GIT_AUTHOR_NAME: c.author.name,
      GIT_AUTHOR_EMAIL: c.author.email,
      GIT_AUTHOR_DATE: toGitDate(c.author.date),
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_COMMITTER_DATE: toGitDate(committer.date),
    };
    const args = ["commit-tree", c.tree, ...c.parents.flatMap((p) => ["-p", p])];
    return (await this.run(args, { input: c.message, env })).stdout.trim();
  }

  async readCommit(sha: string): Promise<CommitInfo> {
    const raw = (await this.run(["cat-file", "commit", sha])).stdout;
    const split = raw.indexOf("\n\n");
    const headers = (split < 0 ? raw : raw.slice(0, split)).split("\n").filter((l) => !l.startsWith(" "));
    const get = (k: string) => headers.filter((h) => h.startsWith(`${k} `)).map((h) => h.slice(k.length + 1));
    return {
      sha,
      tree: get("tree")[0] ?? "",
      parents: get("parent"),
      author: parseIdentity(get("author")[0] ?? ""),
      committer: parseIdentity(get("committer")[0] ?? ""),
      message: split < 0 ? "" : raw.slice(split + 2),
    };
  }

  async readRef(fullRef: string): Promise<string | undefined> {
    return (await this.looseRef(fullRef)) ?? this.showRef(fullRef);
  }

  /**
   * The sha a loose ref file holds, read without spawning git; undefined for anything else
   * (absent, packed, symbolic, unusual name), which git then answers.
   */
  private async looseRef(fullRef: string): Promise<string | undefined> {
    if (!plainRefName(fullRef)) return undefined;
    const text = await readFile(join(this.dir, fullRef), "utf8").catch(() => "");
    return /^[0-9a-f]{40}\n$/.test(text) ? text.trim() : undefined;
  }

  private async showRef(fullRef: string): Promise<string | undefined> {
    const r = await this.run(["show-ref", "--verify", "--hash", fullRef], { reject: false });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }

  async listRefs(prefix: string): Promise<Array<{ ref: string; sha: string; type: string }>> {
    const out = await this.out(["for-each-ref", "--format=%(refname) %(objectname) %(objecttype)"]);
    return out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [ref = "", sha = "", type = ""] = l.split(" ");
        return { ref, sha, type };
      })
      .filter((r) => r.ref.startsWith(prefix));
  }

  /** compare-and-swap update; oldSha ZERO_SHA means "must not exist" */
  async updateRef(fullRef: string, newSha: string, oldSha?: string): Promise<void> {
    await this.run(["update-ref", fullRef, newSha, ...(oldSha ? [oldSha] : [])]);
  }

  async deleteRef(fullRef: string): Promise<void> {
    await this.run(["update-ref", "-d", fullRef]);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.run(["merge-base", "--is-ancestor", ancestor, descendant], { reject: false });
    return r.exitCode === 0;
  }

  async checkRefFormat(fullRef: string): Promise<boolean> {
    const r = await this.run(["check-ref-format", fullRef], { reject: false });
    return r.exitCode === 0;
  }

  /** three-way merge of two commits into a tree; undefined on conflicts */
  async mergeTree(ours: string, theirs: string): Promise<string | undefined> {
    const r = await this.run(["merge-tree", "--write-tree", "--no-messages", ours, theirs], {
      reject: false,
    });
    return r.exitCode === 0 ? r.stdout.split("\n")[0]?.trim() : undefined;
  }

  async countCommits(base: string, head: string): Promise<number> {
    return Number(await this.out(["rev-list", "--count", `${base}..${head}`]));
  }

  async diffStats(
    base: string,
    head: string,
  ): Promise<{ files: number; additions: number; deletions: number }> {
    const out = await this.out(["diff", "--numstat", `${base}...${head}`]);
    const rows = out
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t"));
    const sum = (i: number) => rows.reduce((n, r) => n + (Number(r[i]) || 0), 0);
    return { files: rows.length, additions: sum(0), deletions: sum(1) };
  }
}
