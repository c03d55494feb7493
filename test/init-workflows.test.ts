import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, realpath, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { forFleetRepository } from "../src/init/workflows.js";
import { promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  environment?: string;
  steps: Step[];
}
interface Workflow {
  jobs: Record<string, Job>;
}

const VERSION = "0.7.1";
const TOOL_CACHE = "~/.cache/promfleet/tools";
const workflowsDir = path.join(repoRoot, ".github", "workflows");

async function sourceWorkflows(): Promise<Array<{ file: string; text: string }>> {
  const files = (await readdir(workflowsDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({ file, text: await readFile(path.join(workflowsDir, file), "utf8") })),
  );
}

const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

/** `npx --no promfleet <command> <args…>` calls in a run script, one word list per call. */
function promfleetCalls(run: string): string[][] {
  return [...run.matchAll(/npx --no promfleet ([^\n]+(?:\n {2,}--[^\n]+)*)/g)].map((m) =>
    (m[1] as string).split(/\s+/).filter((w) => w && !w.startsWith(">") && !w.startsWith('"$')),
  );
}

describe("forFleetRepository on promfleet's own workflows", () => {
  let transformed: Array<{ file: string; source: string; text: string; parsed: Workflow }>;
  beforeAll(async () => {
    transformed = (await sourceWorkflows()).flatMap(({ file, text }) => {
      const out = forFleetRepository(text, VERSION);
      return out === undefined ? [] : [{ file, source: text, text: out, parsed: parse(out) as Workflow }];
    });
    expect(transformed.length).toBeGreaterThan(0);
  });

  it("calls the installed promfleet and nothing only this repository has", () => {
    for (const { file, text, source } of transformed) {
      expect(text, file).not.toContain("bin/promfleet.js");
      expect(text, file).not.toMatch(/(^|[\s"'])(\.\/)?scripts\//m);
      expect(text, file).not.toContain("hashFiles(");
      expect(text, file).not.toMatch(/promfleet@/);
      if (source.includes("bin/promfleet.js")) expect(text, file).toContain("npx --no promfleet ");
    }
  });

  it("installs exactly the locked dependencies without running their scripts", () => {
    for (const { file, parsed } of transformed)
      for (const run of steps(parsed).flatMap((s) => (s.run ? [s.run] : [])))
        for (const line of run.split("\n").filter((l) => /\bnpm (ci|install|i)\b/.test(l)))
          expect(line.trim(), file).toBe("npm ci --ignore-scripts");
  });

  it("caches the tools outside node_modules, keyed by promfleet's version", () => {
    const caches = transformed.flatMap(({ parsed }) =>
      steps(parsed).filter((s) => s.uses?.startsWith("actions/cache")),
    );
    expect(caches.length).toBeGreaterThan(0);
    for (const c of caches) {
      expect(c.with?.path).not.toContain("node_modules");
      expect(c.with?.key).toContain(VERSION);
    }
    expect(caches.map((c) => c.with?.path)).toContain(TOOL_CACHE);
  });

  it("runs every job that reads the aggregator's password in the protected environment", () => {
    const jobs = transformed.flatMap(({ parsed }) => Object.values(parsed.jobs));
    const withPassword = jobs.filter((j) =>
      JSON.stringify(j).includes("secrets.PROMFLEET_AGGREGATOR_PASSWORD"),
    );
    expect(withPassword.length).toBeGreaterThan(0);
    for (const j of withPassword) expect(j.environment).toBe("fleet-production");
    for (const j of jobs.filter((x) => !withPassword.includes(x))) expect(j.environment).toBeUndefined();
  });

  it("keeps the workflows' comments", () => {
    for (const { file, source, text } of transformed) {
      const firstComment = source.split("\n").find((l) => l.startsWith("#"));
      if (firstComment) expect(text, file).toContain(firstComment);
    }
  });
});

describe("forFleetRepository on any workflow", () => {
  const commenter = `# posts results
name: comment
on:
  workflow_run:
    workflows: [promfleet review]
    types: [completed]
permissions: {}
jobs:
  comment:
    runs-on: ubuntu-latest
    permissions:
      pull-requests: write
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: |
          npm ci
          bash scripts/install-tools.sh ytt
      - run: >-
          node bin/promfleet.js pr-comment
          --render "$RUNNER_TEMP/render.json"
  verify:
    needs: comment
    runs-on: ubuntu-latest
    steps:
      - run: node bin/promfleet.js verify --if-configured
        env:
          PROMFLEET_AGGREGATOR_PASSWORD: \${{ secrets.PROMFLEET_AGGREGATOR_PASSWORD }}
`;

  it("rewrites every job and keeps what it does not know", () => {
    const parsed = parse(forFleetRepository(commenter, VERSION) ?? "") as Workflow & {
      on: unknown;
      jobs: Record<string, Job & { needs?: string; permissions?: unknown }>;
    };
    expect(parsed.on).toEqual({ workflow_run: { workflows: ["promfleet review"], types: ["completed"] } });
    expect(parsed.jobs.comment?.permissions).toEqual({ "pull-requests": "write" });
    expect(parsed.jobs.comment?.environment).toBeUndefined();
    expect(parsed.jobs.comment?.steps[1]?.run).toContain("npm ci --ignore-scripts\n");
    expect(parsed.jobs.comment?.steps[1]?.run).toContain(
      "bash node_modules/promfleet/scripts/install-tools.sh ytt",
    );
    expect(parsed.jobs.comment?.steps[2]?.run).toBe(
      'npx --no promfleet pr-comment --render "$RUNNER_TEMP/render.json"',
    );
    expect(parsed.jobs.verify?.needs).toBe("comment");
    expect(parsed.jobs.verify?.environment).toBe("fleet-production");
  });

  it("refuses a workflow that needs a file of promfleet's own repository", () => {
    const bench = commenter.replace("bash scripts/install-tools.sh ytt", "node scripts/bench.mjs");
    expect(() => forFleetRepository(bench, VERSION)).toThrow(/scripts\/bench\.mjs/);
    const ci = commenter.replace("bash scripts/install-tools.sh ytt", "bash .ci/run");
    expect(() => forFleetRepository(ci, VERSION)).toThrow(/\.ci\/run/);
  });

  it("leaves out a workflow that does not run promfleet (promfleet's own CI)", () => {
    const ownCi =
      "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: bash .ci/run\n";
    expect(forFleetRepository(ownCi, VERSION)).toBeUndefined();
  });
});

describe("the workflows promfleet init writes", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-wf-"));
    const result = await promfleet(dir, [
      "init",
      "--aggregator",
      "hub",
      "--remote-write-url",
      "https://prom.example.com/api/v1/write",
      "--git-url",
      "https://github.com/acme/fleet.git",
    ]);
    expect(result.code, result.stderr).toBe(0);
  });

  const written = async () =>
    (await readdir(path.join(dir, ".github/workflows"))).map((f) => path.join(dir, ".github/workflows", f));

  it("pass actionlint", async () => {
    const lint = await execa(toolPath("actionlint"), ["-color=false", ...(await written())], {
      reject: false,
      all: true,
    });
    expect(lint.exitCode, lint.all).toBe(0);
  });

  it("pin promfleet's own version (package.json) in their cache keys", async () => {
    const own = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    for (const file of await written()) {
      const text = await readFile(file, "utf8");
      expect(text).not.toContain("2.43.0+vmware");
      for (const c of steps(parse(text) as Workflow).filter((s) => s.uses?.startsWith("actions/cache")))
        expect(c.with?.key).toContain(own.version);
    }
  });

  it("only call promfleet commands and flags that exist", async () => {
    const calls = (
      await Promise.all(
        (await written()).map(async (f) =>
          steps(parse(await readFile(f, "utf8")) as Workflow).flatMap((s) => promfleetCalls(s.run ?? "")),
        ),
      )
    ).flat();
    expect(calls.length).toBeGreaterThan(0);
    const flagsByCommand = new Map<string, Set<string>>();
    for (const [command, ...words] of calls) {
      const flags = flagsByCommand.get(command as string) ?? new Set();
      for (const flag of words.filter((w) => w.startsWith("--"))) flags.add(flag);
      flagsByCommand.set(command as string, flags);
    }
    for (const [command, flags] of flagsByCommand) {
      const help = await promfleet(dir, [command, "--help"]);
      expect(help.stdout, `promfleet ${command}`).toMatch(new RegExp(`^Usage: promfleet ${command} `));
      for (const flag of flags) expect(help.stdout, `promfleet ${command} ${flag}`).toContain(flag);
    }
  });

  it("install tools into a cache that survives npm ci replacing node_modules", async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-ws-"));
    const home = path.join(workspace, "home");
    const cache = path.join(home, ".cache/promfleet/tools");
    await mkdir(cache, { recursive: true });
    // what actions/cache restores: what a previous run installed (here: links to this checkout's tools)
    await execa("cp", ["-R", "-s", `${await realpath(path.join(repoRoot, ".tools"))}/.`, cache]);
    // `npm ci` replaces node_modules with the published package (which has no .tools)
    const shims = path.join(workspace, "shims");
    await mkdir(shims);
    await writeFile(
      path.join(shims, "npm"),
      `#!/bin/sh\nset -e\n[ "$1" = ci ] || exit 9\nrm -rf node_modules\nmkdir -p node_modules/promfleet/scripts\ncp -R "${repoRoot}/tools" node_modules/promfleet/tools\ncp "${repoRoot}/scripts/install-tools.sh" node_modules/promfleet/scripts/\n`,
    );
    await chmod(path.join(shims, "npm"), 0o755);
    for (const file of await written()) {
      const install = steps(parse(await readFile(file, "utf8")) as Workflow).find((s) =>
        s.run?.includes("install-tools.sh"),
      );
      if (!install?.run) continue;
      for (let run = 0; run < 2; run++) {
        const r = await execa("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", install.run], {
          cwd: workspace,
          reject: false,
          all: true,
          env: { HOME: home, PATH: `${shims}:${process.env.PATH}`, GO: "/bin/false" },
        });
        expect(r.exitCode, r.all).toBe(0);
        expect(r.all).toMatch(/^ytt \S+ ok$/m);
        expect(r.all).not.toContain("building");
        expect(await readlink(path.join(workspace, "node_modules/promfleet/.tools"))).toBe(
          path.join(home, ".cache/promfleet/tools"),
        );
      }
    }
  });
});
