import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "./helpers/cli-commands.js";
import { promfleet, repoRoot } from "./helpers/fleet-repo.js";

const emptyDir = () => mkdtemp(path.join(os.tmpdir(), "promfleet-cli-"));

describe("the command line", () => {
  it("prints promfleet's own version, the one in its package.json", async () => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    const r = await promfleet(await emptyDir(), ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(COMMANDS)("%s --help exits 0 and describes its options", async (command) => {
    const r = await promfleet(await emptyDir(), [command, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: promfleet ${command}`);
    expect(r.stdout).toContain("-h, --help");
  });

  it("answers a usage error with exit 2 and, under --json, JSON on stdout", async () => {
    const r = await promfleet(await emptyDir(), ["render", "--json", "--no-such-flag"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ error: expect.stringContaining("--no-such-flag") });
  });

  it("answers a missing fleet spec with exit 2 and JSON under diff --format json", async () => {
    const r = await promfleet(await emptyDir(), ["diff", "--format", "json"]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { error: string; problems: Array<{ file: string; fix?: string }> };
    expect(out.problems[0]).toMatchObject({
      file: "fleet.yaml",
      fix: expect.stringContaining("promfleet init"),
    });
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.each([
    ["onboard-cluster", "edge-9"],
    ["offboard-cluster", "edge-9"],
    ["rotate-credential", "edge-9"],
    ["render"],
    ["validate"],
    ["verify"],
  ])("%s where there is no fleet: exit 2 naming fleet.yaml, no stack trace", async (...args) => {
    const r = await promfleet(await emptyDir(), [...args, "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("fleet.yaml");
    expect(r.stderr).not.toMatch(/\n\s+at |bug in promfleet/);
    expect(JSON.parse(r.stdout)).toHaveProperty("error");
  });
});
