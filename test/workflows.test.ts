import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

const workflowsDir = path.join(repoRoot, ".github", "workflows");

async function workflows(): Promise<Array<{ file: string; text: string }>> {
  const files = (await readdir(workflowsDir)).filter((f) => f.endsWith(".yml")).sort();
  return Promise.all(
    files.map(async (file) => ({ file, text: await readFile(path.join(workflowsDir, file), "utf8") })),
  );
}

describe("GitHub workflows", () => {
  it("pass actionlint", async () => {
    const result = await execa(
      toolPath("actionlint"),
      ["-color=false", ...(await workflows()).map((w) => path.join(workflowsDir, w.file))],
      { reject: false, all: true },
    );
    expect(result.exitCode, result.all).toBe(0);
  });

  it("only call promfleet subcommands that exist, and every call's flags parse", async () => {
    const calls: string[][] = [];
    for (const { text } of await workflows()) {
      const jobs = (parse(text) as { jobs: Record<string, { steps: Array<{ run?: string }> }> }).jobs;
      for (const step of Object.values(jobs).flatMap((j) => j.steps)) {
        const match = /node bin\/promfleet\.js ([\s\S]+)/.exec(step.run ?? "");
        if (match)
          calls.push(
            (match[1] as string).split(/\s+/).filter((w) => w && !w.startsWith(">") && !w.startsWith('"$')),
          );
      }
    }
    expect(calls.map((c) => c[0]).sort()).toEqual([
      "diff",
      "fix-drift",
      "pr-comment",
      "record-deployments",
      "render",
      "validate",
      "verify",
    ]);
    for (const call of calls) {
      const help = await execa(
        "node",
        [path.join(repoRoot, "bin", "promfleet.js"), call[0] as string, "--help"],
        { reject: false },
      );
      expect(help.exitCode, `promfleet ${call[0]} --help`).toBe(0);
      expect(help.stdout, `promfleet ${call[0]} is a command`).toMatch(
        new RegExp(`^Usage: promfleet ${call[0]} `),
      );
      for (const flag of call.filter((w) => w.startsWith("--")))
        expect(help.stdout, `promfleet ${call[0]} ${flag}`).toContain(flag);
    }
  });
});
