/**
 * The workflows and renovate.json promfleet init writes: promfleet's own actions pinned to the release
 * that ran init, least-privilege jobs, and Renovate regexes that find every pin.
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDuration } from "../src/util/duration.js";
import { expectRolloutContinueJob, type Workflow as OnMergeWorkflow } from "./helpers/action-runner.js";
import { promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";
import { INIT_FLAGS } from "./helpers/init.js";

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  environment?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  permissions?: unknown;
  jobs: Record<string, Job>;
}
interface ActionInput {
  required?: boolean;
  default?: string;
}
interface ActionYml {
  description: string;
  inputs: Record<string, ActionInput>;
}
interface RegexManager {
  managerFilePatterns: string[];
  matchStrings: string[];
  depNameTemplate: string;
  datasourceTemplate: string;
}
interface Renovate {
  customManagers: RegexManager[];
  packageRules: Array<{
    matchDepNames?: string[];
    matchManagers?: string[];
    groupName?: string;
    enabled?: boolean;
  }>;
}

const ACTIONS_REPO = "acme-platform/promfleet.fork";
const SHA_PINNED = /^actions\/[\w-]+@[0-9a-f]{40}$/;

const ownVersion = async () =>
  (JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

async function initFleet(extra: string[] = []): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-wf-"));
  const result = await promfleet(dir, ["init", ...INIT_FLAGS, ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return dir;
}

async function workflowsOf(dir: string): Promise<Map<string, Workflow>> {
  const names = (await readdir(path.join(dir, ".github/workflows"))).sort();
  const texts = await Promise.all(names.map((n) => readFile(path.join(dir, ".github/workflows", n), "utf8")));
  return new Map(names.map((n, i) => [n, parse(texts[i] as string) as Workflow]));
}

/** The job (workflow/job) whose step uses promfleet's `action`, with that step. */
function jobsUsing(workflows: Map<string, Workflow>, action: string): Array<{ job: Job; step: Step }> {
  return [...workflows.values()].flatMap((w) =>
    Object.values(w.jobs).flatMap((job) =>
      job.steps
        .filter((s) => s.uses?.startsWith(`${ACTIONS_REPO}/${action}@`))
        .map((step) => ({ job, step })),
    ),
  );
}

const actionYml = async (action: string) =>
  parse(await readFile(path.join(repoRoot, action, "action.yml"), "utf8")) as ActionYml;

/** A Renovate managerFilePatterns entry (`/regex/`) as a RegExp. */
const filePattern = (p: string) => new RegExp(p.replace(/^\/|\/$/g, ""));

describe("the workflows promfleet init writes", () => {
  let dir: string;
  let workflows: Map<string, Workflow>;
  beforeAll(async () => {
    dir = await initFleet(["--actions-repo", ACTIONS_REPO]);
    workflows = await workflowsOf(dir);
  });

  it("pass actionlint", async () => {
    const files = [...workflows.keys()].map((n) => path.join(dir, ".github/workflows", n));
    const lint = await execa(toolPath("actionlint"), ["-color=false", ...files], {
      reject: false,
      all: true,
    });
    expect(lint.exitCode, lint.all).toBe(0);
  });

  it("use promfleet's actions pinned to the exact version that ran init, every other action to a sha", async () => {
    const version = await ownVersion();
    const uses = [...workflows.values()].flatMap((w) =>
      Object.values(w.jobs).flatMap((j) => j.steps.flatMap((s) => (s.uses ? [s.uses] : []))),
    );
    const ours = uses.filter((u) => u.startsWith(`${ACTIONS_REPO}/`));
    expect(new Set(ours)).toEqual(
      new Set(["review", "review-comment", "on-merge"].map((a) => `${ACTIONS_REPO}/${a}@v${version}`)),
    );
    for (const u of uses.filter((x) => !ours.includes(x))) expect(u).toMatch(SHA_PINNED);
    const runs = [...workflows.values()].flatMap((w) => Object.values(w.jobs).flatMap((j) => j.steps));
    expect(runs.filter((s) => s.run !== undefined)).toEqual([]); // no copied shell steps
  });

  it("give each action only inputs it declares, and every input it requires", async () => {
    for (const action of ["review", "review-comment", "on-merge"]) {
      const { inputs } = await actionYml(action);
      for (const { step } of jobsUsing(workflows, action)) {
        for (const key of Object.keys(step.with ?? {}))
          expect(Object.keys(inputs), `${action}: ${key}`).toContain(key);
        for (const [name, input] of Object.entries(inputs))
          if (input.required) expect(step.with?.[name], `${action} requires ${name}`).toBeDefined();
      }
    }
  });

  it("give every job only the permissions its action documents", async () => {
    for (const w of workflows.values()) expect(w.permissions).toEqual({});
    const expected: Array<[string, string | undefined, Record<string, string>]> = [
      ["review", undefined, { contents: "read" }],
      ["review-comment", undefined, { actions: "read", contents: "read", "pull-requests": "write" }],
      ["on-merge", "fix-drift", { contents: "write", "pull-requests": "write" }],
      ["on-merge", "record-deployments", { contents: "read", deployments: "write" }],
      ["on-merge", "verify", { contents: "read" }],
      ["on-merge", "rollout-continue", { contents: "write", "pull-requests": "write" }],
    ];
    for (const [action, command, permissions] of expected) {
      const [found, ...more] = jobsUsing(workflows, action).filter((j) => j.step.with?.command === command);
      expect(more).toEqual([]);
      expect(found?.job.permissions, `${action} ${command ?? ""}`).toEqual(permissions);
      const description = (await actionYml(action)).description.replace(/\s+/g, " ");
      for (const [scope, level] of Object.entries(permissions))
        expect(description).toContain(`${scope}: ${level}`);
    }
  });

  it("run only the jobs that read the aggregator's password (verify, rollout-continue) in the protected environment", () => {
    const jobs = [...workflows.values()].flatMap((w) => Object.values(w.jobs));
    const withPassword = jobs.filter((j) =>
      JSON.stringify(j).includes("secrets.PROMFLEET_AGGREGATOR_PASSWORD"),
    );
    expect(withPassword.map((j) => j.steps.at(-1)?.with?.command).sort()).toEqual([
      "rollout-continue",
      "verify",
    ]);
    for (const j of withPassword) expect(j.environment).toBe("fleet-production");
    for (const j of jobs.filter((x) => !withPassword.includes(x))) expect(j.environment).toBeUndefined();
  });

  it("run rollout-continue after record-deployments, serialised, with time for install, settle and wait", async () => {
    const text = await readFile(path.join(dir, ".github/workflows/on-merge.yml"), "utf8");
    const spec = parse(await readFile(path.join(dir, "fleet.yaml"), "utf8")) as {
      app?: { syncPeriod?: string };
    };
    // init's fleet has no Flux clusters: settle is kapp-controller's sync period (default 1m)
    const settle = parseDuration(spec.app?.syncPeriod ?? "1m", "app.syncPeriod");
    const job = expectRolloutContinueJob(parse(text) as OnMergeWorkflow, settle);
    expect(job.environment).toBe("fleet-production");
    const fixDrift = (parse(text) as OnMergeWorkflow).jobs["fix-drift"];
    expect(fixDrift?.concurrency).toEqual({ group: "promfleet-fix-drift", "cancel-in-progress": false });
  });

  it('match the rollout-continue job README\'s "Upgrading a fleet" shows', async () => {
    const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Upgrading a fleet"));
    const block = /```yaml\n( {2}rollout-continue:\n[^`]*)```/.exec(section);
    expect(block, "README's rollout-continue job").not.toBeNull();
    const shown = (parse(block?.[1] ?? "") as Record<string, Job>)["rollout-continue"];
    const written = structuredClone(workflows.get("on-merge.yml")?.jobs["rollout-continue"]);
    const step = written?.steps.find((s) => s.uses?.includes("/on-merge@"));
    if (step) step.uses = "promfleet/promfleet/on-merge@vX.Y.Z";
    expect(shown).toEqual(written);
  });

  it("default to promfleet's own repository, and refuse an --actions-repo that is no owner/name", async () => {
    const plain = await workflowsOf(await initFleet());
    const text = JSON.stringify([...plain.values()]);
    expect(text).toContain(`"promfleet/promfleet/review@v${await ownVersion()}"`);
    const other = await mkdtemp(path.join(os.tmpdir(), "promfleet-init-wf-"));
    const bad = await promfleet(other, ["init", ...INIT_FLAGS, "--actions-repo", "promfleet/x@main"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--actions-repo: "promfleet/x@main" is not a GitHub repository');
    expect(await readdir(other)).toEqual([]);
  });
});

describe("the renovate.json promfleet init writes", () => {
  let dir: string;
  let renovate: Renovate;
  beforeAll(async () => {
    dir = await initFleet(["--actions-repo", ACTIONS_REPO]);
    renovate = JSON.parse(await readFile(path.join(dir, "renovate.json"), "utf8")) as Renovate;
  });

  it("finds every promfleet action pin in the workflows, at the version package.json pins", async () => {
    const [manager, ...others] = renovate.customManagers;
    expect(others).toEqual([]);
    expect(manager?.datasourceTemplate).toBe("npm");
    const pinned = (
      JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies;
    expect(Object.keys(pinned)).toEqual([manager?.depNameTemplate]);
    const files = (await readdir(dir, { recursive: true }))
      .filter((f) => !f.startsWith("clusters/"))
      .filter((f) => manager?.managerFilePatterns.some((p) => filePattern(p).test(f)));
    expect(files.sort()).toEqual([...workflows()].sort());
    for (const file of files) {
      const text = await readFile(path.join(dir, file), "utf8");
      const pins = text.split("\n").filter((l) => l.includes(`uses: ${ACTIONS_REPO}/`));
      const found = manager?.matchStrings.flatMap((s) => [...text.matchAll(new RegExp(s, "g"))]) ?? [];
      expect(found, file).toHaveLength(pins.length);
      for (const m of found) expect(m.groups?.currentValue).toBe(pinned.promfleet);
    }
  });

  it("moves the actions and package.json together, never the actions' tags alone", () => {
    const group = renovate.packageRules.find((r) => r.groupName);
    expect(group?.matchDepNames).toEqual(["promfleet"]);
    const off = renovate.packageRules.find((r) => r.enabled === false);
    expect(off).toMatchObject({ matchManagers: ["github-actions"], matchDepNames: [ACTIONS_REPO] });
  });

  it("the README's regex manager for the Tanzu package finds package.version in fleet.yaml", async () => {
    const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
    const block = /```json\n(\{[^`]*?fleet\\\\\.yaml[^`]*?\})\n```/.exec(readme);
    expect(block, "a JSON block with a fleet.yaml regex manager in README.md").not.toBeNull();
    const { customManagers } = JSON.parse(block?.[1] ?? "{}") as { customManagers: RegexManager[] };
    const [manager] = customManagers;
    expect(manager?.managerFilePatterns.some((p) => filePattern(p).test("fleet.yaml"))).toBe(true);
    const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    const found = manager?.matchStrings.flatMap((s) => [...spec.matchAll(new RegExp(s, "g"))]) ?? [];
    expect(found.map((m) => m.groups?.currentValue)).toEqual(["2.43.0+vmware.2-tkg.1"]);
  });

  const workflows = () =>
    ["on-merge.yml", "pr-comment.yml", "pr-review.yml"].map((n) => `.github/workflows/${n}`);
});
