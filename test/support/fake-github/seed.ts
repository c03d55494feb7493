/** Creates the initial commit of the fake repository from a directory (or a README). */
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { GitStore, Identity } from "./git-store.js";
import { TreeBuilder } from "./tree-builder.js";

interface SeedFile {
  rel: string;
  abs: string;
  mode: string;
}

async function walk(root: string, rel = ""): Promise<SeedFile[]> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => e.name !== ".git")
      .map(async (e): Promise<SeedFile[]> => {
        const r = rel ? `${rel}/${e.name}` : e.name;
        const abs = join(root, r);
        if (e.isDirectory()) return walk(root, r);
        if (e.isSymbolicLink()) return [{ rel: r, abs, mode: "120000" }];
        if (!e.isFile()) return [];
        const executable = ((await lstat(abs)).mode & 0o111) !== 0;
        return [{ rel: r, abs, mode: executable ? "100755" : "100644" }];
      }),
  );
  return nested.flat();
}

async function writeSeedTree(store: GitStore, seedDir: string | undefined, repo: string): Promise<string> {
  const builder = new TreeBuilder(store);
  if (!seedDir) {
    const sha = await store.hashBlob(`# ${repo}\n`);
    await builder.set("README.md", { mode: "100644", type: "blob", sha });
    return builder.write();
  }
  const files = await walk(seedDir);
  const regular = files.filter((f) => f.mode !== "120000");
  const shas = await store.hashFiles(regular.map((f) => f.abs));
  for (const [i, f] of regular.entries())
    await builder.set(f.rel, { mode: f.mode, type: "blob", sha: shas[i] ?? "" });
  for (const f of files.filter((x) => x.mode === "120000")) {
    await builder.set(f.rel, {
      mode: f.mode,
      type: "blob",
      sha: await store.hashBlob(await readlink(f.abs)),
    });
  }
  return builder.write();
}

export async function seedRepository(
  store: GitStore,
  branch: string,
  seedDir: string | undefined,
  repo: string,
  author: Identity,
): Promise<string> {
  const tree = await writeSeedTree(store, seedDir, repo);
  const sha = await store.commitTree({ tree, parents: [], message: "Initial commit\n", author });
  await store.updateRef(`refs/heads/${branch}`, sha);
  return sha;
}
