/**
 * promfleet's GitHub Actions (review/, review-comment/, on-merge/): checked structurally (actionlint
 * checks workflows, not action.yml), and each action's promfleet step run with bash the way the runner
 * runs it: its env evaluated from the action's inputs and the GITHUB_* context of a recorded event
 * payload, against the fake GitHub server.
 */
import { cp, mkdir, mkdtemp, readFile, readlink, realpath, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import {
  exampleFleetRepo,
  fixturesDir,
  promfleet,
  readRepoFile,
  repoRoot,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { cloneBranch, git, githubFleet, TOKEN, type GitHubFleet } from "./helpers/github.js";

interface ActionStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  "working-directory"?: string;
}
interface Action {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string; value?: string }>;
  runs?: { using?: string; steps?: ActionStep[] };
}

const ACTIONS = ["review", "review-comment", "on-merge"];
const SHA_PINNED = /^actions\/[\w-]+@[0-9a-f]{40}$/;

async function loadAction(name: string): Promise<{ text: string; action: Action }> {
  const text = await readFile(path.join(repoRoot, name, "action.yml"), "utf8");
  return { text, action: parse(text) as Action };
}

/** The one step that runs promfleet's CLI (the others install it). */
async function promfleetStep(name: string): Promise<{ action: Action; step: ActionStep }> {
  const { action } = await loadAction(name);
  const steps = (action.runs?.steps ?? []).filter((s) => s.run?.includes("bin/promfleet.js"));
  expect(steps, name).toHaveLength(1);
  return { action, step: steps[0] as ActionStep };
}

type Context = Record<string, unknown>;

/** `${{ a.b.c }}` in text, looked up in the context (only property paths: all these actions use). */
function evaluate(text: string, context: Context): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expr: string) => {
    const value = expr.split(".").reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], context);
    if (value === undefined) throw new Error(`\${{ ${expr} }} is not in the test's context`);
    return String(value);
  });
}

interface Run {
  code: number;
  all: string;
  outputs: Record<string, string>;
}

/**
 * Runs an action step as the runner does: `bash --noprofile --norc -eo pipefail`, the step's env
 * evaluated, GITHUB_ACTION_PATH the action's folder, outputs read back from GITHUB_OUTPUT.
 */
async function runStep(
  name: string,
  step: ActionStep,
  o: {
    with: Record<string, string>;
    github: Context;
    cwd: string;
    runnerTemp: string;
    env: Record<string, string>;
  },
): Promise<Run> {
  const { action } = await loadAction(name);
  const base = { github: o.github, runner: { temp: o.runnerTemp, os: "Linux", arch: "X64" } };
  const inputs = Object.fromEntries(
    Object.entries(action.inputs ?? {}).map(([k, v]) => [k, o.with[k] ?? evaluate(v.default ?? "", base)]),
  );
  const context = { ...base, inputs };
  const stepEnv = Object.fromEntries(
    Object.entries(step.env ?? {}).map(([k, v]) => [k, evaluate(v, context)]),
  );
  const output = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-output-")), "output");
  await writeFile(output, "");
  const r = await execa("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run ?? ""], {
    cwd: step["working-directory"]
      ? path.resolve(o.cwd, evaluate(step["working-directory"], context))
      : o.cwd,
    reject: false,
    all: true,
    extendEnv: false,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: os.tmpdir(),
      NO_COLOR: "1",
      GITHUB_ACTIONS: "true",
      GITHUB_ACTION_PATH: path.join(repoRoot, name),
      GITHUB_OUTPUT: output,
      GITHUB_WORKSPACE: o.cwd,
      RUNNER_TEMP: o.runnerTemp,
      ...o.env,
      ...stepEnv,
    },
  });
  const outputs = Object.fromEntries(
    (await readFile(output, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { code: r.exitCode ?? -1, all: r.all ?? "", outputs };
}

async function eventFile(payload: object): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-event-")), "event.json");
  await writeFile(file, JSON.stringify(payload));
  return file;
}

describe("each action.yml", () => {
  it.each(ACTIONS)(
    "%s: a documented composite action whose steps all have a shell and use only its inputs",
    async (name) => {
      const { text, action } = await loadAction(name);
      expect(action.name).toMatch(/^promfleet /);
      expect(action.description).toMatch(/Permissions( per command)?: /);
      expect(action.runs?.using).toBe("composite");
      const steps = action.runs?.steps ?? [];
      expect(steps.length).toBeGreaterThan(0);
      for (const [i, step] of steps.entries()) {
        expect(Boolean(step.run) !== Boolean(step.uses), `${name} step ${i}: run or uses`).toBe(true);
        if (step.run) {
          expect(step.shell, `${name} step ${i}`).toBe("bash");
          expect(step.run, `${name} step ${i}: inputs reach scripts through env only`).not.toContain("${{");
        }
        if (step.uses) expect(step.uses).toMatch(SHA_PINNED);
      }
      for (const [input, spec] of Object.entries(action.inputs ?? {}))
        expect(spec.description, input).toBeTruthy();
      for (const [output, spec] of Object.entries(action.outputs ?? {})) {
        expect(spec.description, output).toBeTruthy();
        expect(spec.value, output).toMatch(/^\$\{\{ steps\.[\w-]+\.outputs\.[\w-]+ \}\}$/);
      }
      const declared = Object.keys(action.inputs ?? {});
      for (const [, used] of text.matchAll(/\binputs\.([\w-]+)/g)) expect(declared, name).toContain(used);
      const ids = steps.flatMap((s) => (s.id ? [s.id] : []));
      for (const [, used] of text.matchAll(/\bsteps\.([\w-]+)\./g)) expect(ids, name).toContain(used);
    },
  );
});

describe("scripts/action-install.sh (the actions' install step)", () => {
  it("keeps the tools in the runner's tool cache by promfleet's version, and reuses them without building", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-action-root-"));
    for (const rel of ["package.json", "scripts", "tools"])
      await cp(path.join(repoRoot, rel), path.join(root, rel), { recursive: true });
    const toolCache = await mkdtemp(path.join(os.tmpdir(), "promfleet-tool-cache-"));
    const shims = await mkdtemp(path.join(os.tmpdir(), "promfleet-shims-"));
    // npm ci and the build are npm's business; the shim records that they ran
    await writeFile(path.join(shims, "npm"), `#!/bin/sh\necho "npm $*" >> "${shims}/npm.log"\n`, {
      mode: 0o755,
    });
    // the Go route (install-tools.sh); release files are test/tool-release-install.test.ts's
    const env = {
      RUNNER_TOOL_CACHE: toolCache,
      PATH: `${shims}:${process.env.PATH}`,
      GO: "/bin/false",
      PROMFLEET_TOOLS_FROM_SOURCE: "1",
    };
    const script = path.join(root, "scripts", "action-install.sh");
    const paths = await execa("bash", [script, "paths"], { env });
    const version = (
      JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string }
    ).version;
    const toolsDir = path.join(toolCache, "promfleet", version, (await execa("uname", ["-m"])).stdout);
    expect(paths.stdout.split("\n")).toEqual([`version=${version}`, `tools-dir=${toolsDir}`]);
    // what actions/cache restores: a previous run's tools (here: links to this checkout's)
    await mkdir(toolsDir, { recursive: true });
    await execa("cp", ["-R", "-s", `${await realpath(path.join(repoRoot, ".tools"))}/.`, toolsDir]);
    for (let run = 0; run < 2; run++) {
      const r = await execa("bash", [script, "install", "ytt"], { env, reject: false, all: true });
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/^ytt \S+ ok$/m);
      expect(r.all).not.toContain("building");
      expect(await readlink(path.join(root, ".tools"))).toBe(toolsDir);
    }
    expect((await readFile(path.join(shims, "npm.log"), "utf8")).split("\n")[0]).toBe(
      "npm ci --ignore-scripts --no-audit --no-fund",
    );
  });
});

describe("the actions' promfleet steps against the fake GitHub", { timeout: 300_000 }, () => {
  let current: GitHubFleet | undefined;
  afterEach(async () => {
    await current?.fake.close();
    current = undefined;
  });

  it("review computes the results, review-comment posts them, on-merge records deployments and finds no drift", async () => {
    current = await githubFleet();
    const { fake, run } = current;
    expect((await run(["onboard-cluster", "edge-1", "--pr"])).code).toBe(0);
    const clone = await cloneBranch(fake, "promfleet/onboard-edge-1");
    const headSha = await git(clone, ["rev-parse", "HEAD"]);
    const runnerTemp = await mkdtemp(path.join(os.tmpdir(), "promfleet-runner-temp-"));
    const repository = { full_name: "acme/fleet", name: "fleet", owner: { login: "acme" } };
    const pullRequest = {
      action: "opened",
      number: 1,
      pull_request: {
        number: 1,
        head: { sha: headSha, ref: "promfleet/onboard-edge-1" },
        base: { ref: "main" },
      },
      repository,
    };
    const githubEnv = (event: string) => ({
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: "acme/fleet",
      GITHUB_API_URL: fake.url,
    });

    // review, on pull_request
    const review = await promfleetStep("review");
    const reviewed = async () =>
      runStep("review", review.step, {
        with: { crds: path.join(fixturesDir, "crds") },
        github: { event: pullRequest, base_ref: "main", token: TOKEN },
        cwd: clone,
        runnerTemp,
        env: { ...githubEnv(await eventFile(pullRequest)), GITHUB_SHA: headSha },
      });
    const first = await reviewed();
    expect(first.code, first.all).toBe(0);
    expect(first.outputs).toEqual({
      "results-dir": path.join(runnerTemp, "promfleet-review"),
      failed: "false",
    });
    expect(
      JSON.parse(await readFile(path.join(runnerTemp, "promfleet-review/pull-request.json"), "utf8")),
    ).toEqual({
      number: 1,
      headSha,
    });

    // review-comment, on workflow_run of the review: the artifact downloaded to the same place
    const workflowRun = {
      action: "completed",
      workflow_run: {
        id: 42,
        event: "pull_request",
        conclusion: "success",
        head_sha: headSha,
        pull_requests: [{ number: 1 }],
      },
      repository,
    };
    const comment = await promfleetStep("review-comment");
    const commented = async () =>
      runStep("review-comment", comment.step, {
        with: {},
        github: { event: workflowRun, token: TOKEN },
        cwd: await cloneBranch(fake, "main"),
        runnerTemp,
        env: githubEnv(await eventFile(workflowRun)),
      });
    const posted = await commented();
    expect(posted.code, posted.all).toBe(0);
    expect(posted.outputs.outcome).toBe("created");
    expect(fake.comments(1)[0]?.body).toContain("### promfleet review ✅");

    // a pull request that changes the spec without re-rendering: the review fails, the comment says so
    await writeRepoFile(
      clone,
      "fleet.yaml",
      (await readRepoFile(clone, "fleet.yaml")).replace("retention: 42d", "retention: 30d"),
    );
    const failing = await reviewed();
    expect(failing.code, failing.all).toBe(0); // the action's last step fails the check, after the upload
    expect(failing.outputs.failed).toBe("true");
    const updated = await commented();
    expect(updated.outputs.outcome).toBe("updated");
    expect(fake.comments(1)[0]?.body).toContain("❌");

    // on-merge, on the push that merged the pull request
    await fake.mergePull(1);
    const main = await cloneBranch(fake, "main");
    const after = await git(main, ["rev-parse", "HEAD"]);
    const before = await git(main, ["rev-parse", "HEAD^"]);
    const push = { ref: "refs/heads/main", before, after, repository };
    const onMerge = await promfleetStep("on-merge");
    const merged = async (command: string) =>
      runStep("on-merge", onMerge.step, {
        with: { command },
        github: { event: push, token: TOKEN },
        cwd: main,
        runnerTemp,
        env: { ...githubEnv(await eventFile(push)), GITHUB_SHA: after },
      });
    const recorded = await merged("record-deployments");
    expect(recorded.code, recorded.all).toBe(0);
    expect(fake.deployments().map((d) => [d.environment, d.ref, d.statuses])).toEqual([
      ["edge-1", after, ["success"]],
    ]);
    const drift = await merged("fix-drift");
    expect(drift.code, drift.all).toBe(0);
    expect(JSON.parse(await readFile(drift.outputs["result-file"] as string, "utf8"))).toEqual({
      drift: false,
    });
    const wrong = await merged("deploy");
    expect(wrong.code).toBe(2);
    expect(wrong.all).toContain("command must be fix-drift, record-deployments or verify");
    expect(fake.validationErrors).toEqual([]);
  });

  it("on-merge fix-drift opens the fix-up pull request when the default branch drifted", async () => {
    const seed = await exampleFleetRepo();
    await promfleet(seed, ["render"]);
    await writeRepoFile(
      seed,
      "fleet.yaml",
      (await readRepoFile(seed, "fleet.yaml")).replace("retention: 42d", "retention: 30d"),
    );
    current = await githubFleet(seed);
    const { fake } = current;
    const main = await cloneBranch(fake, "main");
    const after = await git(main, ["rev-parse", "HEAD"]);
    const push = {
      ref: "refs/heads/main",
      before: "0".repeat(40),
      after,
      repository: { full_name: "acme/fleet" },
    };
    const { step } = await promfleetStep("on-merge");
    const r = await runStep("on-merge", step, {
      with: { command: "fix-drift" },
      github: { event: push, token: TOKEN },
      cwd: main,
      runnerTemp: await mkdtemp(path.join(os.tmpdir(), "promfleet-runner-temp-")),
      env: {
        GITHUB_EVENT_PATH: await eventFile(push),
        GITHUB_REPOSITORY: "acme/fleet",
        GITHUB_API_URL: fake.url,
        GITHUB_SHA: after,
      },
    });
    expect(r.code, r.all).toBe(0);
    expect(JSON.parse(await readFile(r.outputs["result-file"] as string, "utf8"))).toMatchObject({
      drift: true,
      pr: { number: 1, outcome: "created" },
    });
    expect(fake.pulls()).toHaveLength(1);
    expect(fake.validationErrors).toEqual([]);
  });
});
