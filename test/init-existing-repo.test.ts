import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { INIT_FLAGS } from "./helpers/init.js";

/** What GitHub's "Add a README / .gitignore template: Node / license" leaves in a new repository. */
const GITHUB_README = "# fleet\nOur monitoring fleet.\n";
const GITHUB_GITIGNORE = "# Logs\nlogs\n*.log\n\n# Dependency directories\nnode_modules/\n";
const GITHUB_LICENSE = "MIT License\n\nCopyright (c) 2026 acme\n";

async function githubCreatedRepo(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-gh-"));
  await execa("git", ["init", "-q", "-b", "main", dir]);
  await writeFile(path.join(dir, "README.md"), GITHUB_README);
  await writeFile(path.join(dir, ".gitignore"), GITHUB_GITIGNORE);
  await writeFile(path.join(dir, "LICENSE"), GITHUB_LICENSE);
  return dir;
}

/** Every file under `dir` (but .git) with its content, to prove that a refused init wrote nothing. */
async function snapshot(dir: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = path.join(rel, e.name);
    if (e.name === ".git") continue;
    if (e.isDirectory()) Object.assign(out, await snapshot(dir, child));
    else out[child] = await readFile(path.join(dir, child), "utf8");
  }
  return out;
}

/** Runs the CLI from `cwd` with exactly these arguments (no -C added). */
async function promfleetIn(cwd: string, args: string[]) {
  const r = await execa("node", [path.join(repoRoot, "bin", "promfleet.js"), ...args], {
    cwd,
    reject: false,
    env: { NO_COLOR: "1" },
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("promfleet init in a repository GitHub created", () => {
  it("keeps README.md and LICENSE, appends its ignore lines to .gitignore once, and renders", async () => {
    const dir = await githubCreatedRepo();
    const result = await promfleet(dir, ["init", ...INIT_FLAGS, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(path.join(dir, "README.md"), "utf8")).toBe(GITHUB_README);
    expect(await readFile(path.join(dir, "LICENSE"), "utf8")).toBe(GITHUB_LICENSE);
    // node_modules/ was already ignored: only the missing line is added, after the user's own
    expect(await readFile(path.join(dir, ".gitignore"), "utf8")).toBe(
      `${GITHUB_GITIGNORE}\n# promfleet\n.promfleet/\n`,
    );
    const report = JSON.parse(result.stdout) as { kept: string[]; merged: string[]; files: string[] };
    expect(report.kept).toEqual(["README.md"]);
    expect(report.merged).toEqual([".gitignore"]);
    expect(report.files).toContain("fleet.yaml");
    expect(report.files).toContain("clusters/hub/values.yaml");
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
  });

  it("refuses a folder that already holds a fleet (exit 2), changing nothing", async () => {
    const dir = await githubCreatedRepo();
    expect((await promfleet(dir, ["init", ...INIT_FLAGS])).code).toBe(0);
    const before = await snapshot(dir);
    const again = await promfleet(dir, ["init", ...INIT_FLAGS.map((f) => (f === "hub" ? "other" : f))]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already a fleet");
    expect(again.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await snapshot(dir)).toEqual(before);
  });

  it("refuses to overwrite a file it would write that the user has, writing nothing", async () => {
    const dir = await githubCreatedRepo();
    await mkdir(path.join(dir, "overlays", "base"), { recursive: true });
    await writeFile(path.join(dir, "overlays/base/values.yaml"), "#! mine\n");
    const before = await snapshot(dir);
    const result = await promfleet(dir, ["init", ...INIT_FLAGS]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("overlays/base/values.yaml");
    expect(await snapshot(dir)).toEqual(before);
  });
});

describe("promfleet init: nothing is written unless everything can be", () => {
  it("stops before writing when the rendered folder would overwrite a file of the user's", async () => {
    const dir = await githubCreatedRepo();
    await mkdir(path.join(dir, "clusters", "hub"), { recursive: true });
    await writeFile(path.join(dir, "clusters/hub/values.yaml"), "mine: true\n");
    const before = await snapshot(dir);
    const result = await promfleet(dir, ["init", ...INIT_FLAGS]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("clusters/hub/values.yaml");
    expect(await snapshot(dir)).toEqual(before); // no fleet.yaml, no password file, .gitignore untouched
  });
});

describe("promfleet init: where it writes", () => {
  it("honours -C DIR without a positional folder", async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-cwd-"));
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-c-"));
    const result = await promfleetIn(elsewhere, ["-C", dir, "init", ...INIT_FLAGS]);
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(dir)).toContain("fleet.yaml");
    expect(await readdir(elsewhere)).toEqual([]);
    // the printed steps use paths inside the fleet, so they start there
    const steps = result.stderr.split("\n").filter((l) => l.startsWith("next: "));
    expect(steps[0]).toBe(`next: cd ${dir}`);
    const kubectl = steps.find((l) => l.includes("kubectl")) ?? "";
    const file = /--from-file=password=(\S+)/.exec(kubectl)?.[1] ?? "";
    expect(await readFile(path.join(dir, file), "utf8")).toMatch(/^[\w-]{43}$/);
  });

  it("reads a positional folder relative to -C DIR", async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-cwd-"));
    const parent = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-parent-"));
    const result = await promfleetIn(elsewhere, ["-C", parent, "init", "fleet", ...INIT_FLAGS]);
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(path.join(parent, "fleet"))).toContain("fleet.yaml");
    expect(await readdir(elsewhere)).toEqual([]);
  });
});
