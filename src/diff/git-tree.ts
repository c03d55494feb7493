import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { CLUSTERS_DIR } from "../render/render.js";
import { ExitCode, PromfleetError } from "../util/errors.js";

/** Every file under clusters/ at a git ref, read with one `git cat-file --batch`. */
export async function filesAtRef(root: string, ref: string): Promise<Map<string, string>> {
  const ls = await execa("git", ["-C", root, "ls-tree", "-r", "--name-only", ref, "--", `${CLUSTERS_DIR}/`], {
    reject: false,
  });
  if (ls.exitCode !== 0)
    throw new PromfleetError(`git cannot read ${ref}: ${ls.stderr.trim()}`, ExitCode.badInput);
  const paths = ls.stdout.split("\n").filter(Boolean);
  if (paths.length === 0) return new Map();
  const { stdout } = await execa("git", ["-C", root, "cat-file", "--batch"], {
    input: paths.map((p) => `${ref}:${p}`).join("\n") + "\n",
    encoding: "buffer",
  });
  return new Map(parseBatch(Buffer.from(stdout), paths));
}

function parseBatch(out: Buffer, paths: string[]): Array<[string, string]> {
  const files: Array<[string, string]> = [];
  let at = 0;
  for (const p of paths) {
    const eol = out.indexOf(10, at);
    const size = Number(out.subarray(at, eol).toString().split(" ")[2]);
    files.push([p, out.subarray(eol + 1, eol + 1 + size).toString("utf8")]);
    at = eol + 1 + size + 1;
  }
  return files;
}

/** Every file under clusters/ in the working tree. */
export async function filesInTree(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      else if (e.isFile()) files.set(child, await readFile(path.join(root, child), "utf8"));
    }
  };
  await walk(CLUSTERS_DIR);
  return files;
}

/** The merge base with origin/<branch> when that exists (a pull request's base), else HEAD. */
export async function defaultBase(root: string, branch: string): Promise<string> {
  const mb = await execa("git", ["-C", root, "merge-base", "HEAD", `origin/${branch}`], { reject: false });
  return mb.exitCode === 0 ? mb.stdout.trim() : "HEAD";
}
