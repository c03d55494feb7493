import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { INIT_FLAGS } from "./helpers/init.js";

async function gitRepo(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-files-"));
  await execa("git", ["init", "-q", "-b", "main", dir]);
  return dir;
}

describe("promfleet init: what keeps secrets out of Git and changes reviewed", () => {
  it("keeps the plaintext password out of `git add -A` even when the repository's .gitignore is emptied", async () => {
    const dir = await gitRepo();
    const result = await promfleet(dir, ["init", ...INIT_FLAGS]);
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(path.join(dir, ".promfleet/.gitignore"), "utf8")).toBe("*\n");
    await writeFile(path.join(dir, ".gitignore"), "");
    await execa("git", ["-C", dir, "add", "-A"]);
    const staged = (await execa("git", ["-C", dir, "diff", "--cached", "--name-only"])).stdout.split("\n");
    expect(staged).toContain("fleet.yaml");
    expect(staged.filter((f) => f.startsWith(".promfleet/"))).toEqual([]);
  });

  it("writes CODEOWNERS for every path that decides what clusters run, owned by --codeowner", async () => {
    const dir = await gitRepo();
    const result = await promfleet(dir, ["init", ...INIT_FLAGS, "--codeowner", "@acme/fleet-admins"]);
    expect(result.code, result.stderr).toBe(0);
    const rules = (await readFile(path.join(dir, ".github/CODEOWNERS"), "utf8"))
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    expect(rules).toEqual([
      "/fleet.yaml @acme/fleet-admins",
      "/overlays/ @acme/fleet-admins",
      "/templates/ @acme/fleet-admins",
      "/.github/ @acme/fleet-admins",
      "/clusters/ @acme/fleet-admins",
      "/package.json @acme/fleet-admins",
      "/package-lock.json @acme/fleet-admins",
      "/renovate.json @acme/fleet-admins",
    ]);
  });

  it("without --codeowner, writes CODEOWNERS with no active rule and says how to set it", async () => {
    const dir = await gitRepo();
    const result = await promfleet(dir, ["init", ...INIT_FLAGS]);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(path.join(dir, ".github/CODEOWNERS"), "utf8");
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([]);
    expect(text).toContain("# /fleet.yaml @OWNER/TEAM");
    expect(result.stderr).toContain("--codeowner");
  });

  it("pins promfleet's own version in package.json, never the Tanzu package's", async () => {
    const dir = await gitRepo();
    const result = await promfleet(dir, ["init", ...INIT_FLAGS]);
    expect(result.code, result.stderr).toBe(0);
    const own = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    const written = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(written).toEqual({ private: true, devDependencies: { promfleet: own.version } });
    expect(result.stderr).toContain("npm install --package-lock-only --ignore-scripts");
  });
});
