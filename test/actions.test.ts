/**
 * promfleet's GitHub Actions (review/, review-comment/, on-merge/): checked structurally (actionlint
 * checks workflows, not action.yml), and each action's promfleet step run with bash the way the runner
 * runs it: its env evaluated from the action's inputs and the GITHUB_* context of a recorded event
 * payload, against the fake GitHub server.
 */
import { mkdtemp, readFile, readlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import {
  actionRoot,
  eventFile,
  loadAction,
  promfleetStep,
  runAction,
  runStep,
} from "./helpers/action-runner.js";
import {
  exampleFleetRepo,
  fixturesDir,
  promfleet,
  readRepoFile,
  repoRoot,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { cloneBranch, git, githubFleet, TOKEN, type GitHubFleet } from "./helpers/github.js";

const ACTIONS = ["review", "review-comment", "on-merge"];
const SHA_PINNED = /^actions\/[\w-]+@[0-9a-f]{40}$/;

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
    // the tool cache holds what actions/cache restores: a previous run's tools
    const { root, env, toolsDir, npmLog } = await actionRoot();
    const script = path.join(root, "scripts", "action-install.sh");
    const paths = await execa("bash", [script, "paths"], { env });
    const version = (
      JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string }
    ).version;
    expect(toolsDir).toBe(
      path.join(env.RUNNER_TOOL_CACHE, "promfleet", version, (await execa("uname", ["-m"])).stdout),
    );
    expect(paths.stdout.split("\n")).toEqual([`version=${version}`, `tools-dir=${toolsDir}`]);
    for (let run = 0; run < 2; run++) {
      const r = await execa("bash", [script, "install", "ytt"], { env, reject: false, all: true });
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/^ytt \S+ ok$/m);
      expect(r.all).not.toContain("building");
      expect(await readlink(path.join(root, ".tools"))).toBe(toolsDir);
    }
    expect((await readFile(npmLog, "utf8")).split("\n")[0]).toBe(
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
    const { root, env } = await actionRoot();
    const merged = async (command: string) =>
      runAction("on-merge", {
        with: { command },
        github: { event: push, token: TOKEN },
        cwd: main,
        runnerTemp,
        root,
        env: { ...env, ...githubEnv(await eventFile(push)), GITHUB_SHA: after },
      });
    const recorded = await merged("record-deployments");
    expect(recorded.code, recorded.all).toBe(0);
    expect(recorded.steps).toEqual([
      ["actions/setup-node", "uses"],
      ["Where this promfleet keeps its tools", "run"],
      ["Cache the pinned tools in the runner's tool cache", "skip"], // no ytt to keep
      ["actions/setup-go", "skip"],
      ["Install promfleet (and ytt for fix-drift and rollout-continue)", "run"],
      ["Run promfleet record-deployments", "run"],
    ]);
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
    expect(wrong.all).toContain("command must be fix-drift, record-deployments, verify or rollout-continue");
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
