/**
 * Runs promfleet's composite actions (review/, review-comment/, on-merge/) the way the GitHub runner
 * does: inputs from `with:` or their defaults, `${{ … }}` evaluated against the github/runner/inputs/
 * steps contexts, each step's `if:` deciding whether it runs, every `run:` step executed with
 * `bash --noprofile --norc -eo pipefail`, outputs read back from GITHUB_OUTPUT. `uses:` steps
 * (setup-node, cache, setup-go) are the runner's; the test machine stands in for them (node, Go-free
 * tools already in .tools) and the result says which of them the action would have used.
 */
import { cp, mkdir, mkdtemp, readFile, realpath, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { expect } from "vitest";
import { parseDuration } from "../../src/util/duration.js";
import { repoRoot } from "./fleet-repo.js";

export interface ActionStep {
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
export interface Action {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string; value?: string }>;
  runs?: { using?: string; steps?: ActionStep[] };
}

export type Context = Record<string, unknown>;

export async function loadAction(name: string): Promise<{ text: string; action: Action }> {
  const text = await readFile(path.join(repoRoot, name, "action.yml"), "utf8");
  return { text, action: parse(text) as Action };
}

/** The one step that runs promfleet's CLI (the others install it). */
export async function promfleetStep(name: string): Promise<{ action: Action; step: ActionStep }> {
  const { action } = await loadAction(name);
  const steps = (action.runs?.steps ?? []).filter((s) => s.run?.includes("bin/promfleet.js"));
  expect(steps, name).toHaveLength(1);
  return { action, step: steps[0] as ActionStep };
}

function lookup(expr: string, context: Context): unknown {
  return expr.split(".").reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], context);
}

/**
 * `${{ a.b.c }}` in text, looked up in the context (only property paths: all these actions use). A
 * path the context lacks throws, unless `missing` says what it is (GitHub: '' for a step's unset output).
 */
export function evaluate(text: string, context: Context, missing?: string): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expr: string) => {
    const value = lookup(expr, context) ?? missing;
    if (value === undefined) throw new Error(`\${{ ${expr} }} is not in the test's context`);
    return String(value);
  });
}

type Value = string | boolean | null;

/**
 * An `if:` condition, with the part of GitHub's expression syntax these actions use: property paths
 * (a missing one is null), 'strings', true/false, ==, != (strings compare case-insensitively, as
 * GitHub's do), !, &&, || and parentheses. Anything else throws rather than guessing.
 */
export function condition(text: string, context: Context): boolean {
  const source = text.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
  const tokens = [...source.matchAll(/\s*(\|\||&&|==|!=|!|\(|\)|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)/gy)].map(
    (m) => m[1] as string,
  );
  if (tokens.join("").replace(/\s/g, "") !== source.replace(/\s/g, ""))
    throw new Error(`the test's expression evaluator cannot read: ${text}`);
  let at = 0;
  const peek = () => tokens[at];
  const take = () => tokens[at++] as string;
  const truthy = (v: Value) => v !== null && v !== false && v !== "";
  const equal = (a: Value, b: Value) =>
    typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
  const primary = (): Value => {
    const token = take();
    if (token === "(") {
      const value = or();
      if (take() !== ")") throw new Error(`unbalanced parentheses in: ${text}`);
      return value;
    }
    if (token === "!") return !truthy(primary());
    if (token.startsWith("'")) return token.slice(1, -1).replaceAll("''", "'");
    if (token === "true" || token === "false") return token === "true";
    const value = lookup(token, context);
    return value === undefined ? null : (value as Value);
  };
  const comparison = (): Value => {
    const left = primary();
    if (peek() !== "==" && peek() !== "!=") return left;
    const operator = take();
    const same = equal(left, primary());
    return operator === "==" ? same : !same;
  };
  const and = (): Value => {
    let value = comparison();
    while (peek() === "&&") {
      take();
      const right = comparison();
      value = truthy(value) && truthy(right);
    }
    return value;
  };
  const or = (): Value => {
    let value = and();
    while (peek() === "||") {
      take();
      const right = and();
      value = truthy(value) || truthy(right);
    }
    return value;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`the test's expression evaluator cannot read: ${text}`);
  return truthy(result);
}

/** GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([\w-]+)<<(\S+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2] as string, i + 1);
      outputs[heredoc[1] as string] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("="))
      outputs[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  }
  return outputs;
}

export interface RunOptions {
  /** The step's `with:` (a workflow's), already evaluated; missing inputs take their defaults. */
  with: Record<string, string>;
  github: Context;
  cwd: string;
  runnerTemp: string;
  /** The runner's environment: GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_SHA… */
  env: Record<string, string>;
  /** Where the action's folder is (default: this checkout); see actionRoot. */
  root?: string;
}

export interface Run {
  code: number;
  all: string;
  outputs: Record<string, string>;
}

/** The inputs, github and runner contexts a step's expressions see. */
function baseContext(action: Action, o: RunOptions): Context {
  const base = { github: o.github, runner: { temp: o.runnerTemp, os: "Linux", arch: "X64" } };
  const inputs = Object.fromEntries(
    Object.entries(action.inputs ?? {}).map(([k, v]) => [k, o.with[k] ?? evaluate(v.default ?? "", base)]),
  );
  return { ...base, inputs };
}

async function execStep(name: string, step: ActionStep, context: Context, o: RunOptions): Promise<Run> {
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
      GITHUB_ACTION_PATH: path.join(o.root ?? repoRoot, name),
      GITHUB_OUTPUT: output,
      GITHUB_WORKSPACE: o.cwd,
      RUNNER_TEMP: o.runnerTemp,
      ...o.env,
      ...stepEnv,
    },
  });
  return { code: r.exitCode ?? -1, all: r.all ?? "", outputs: parseOutputs(await readFile(output, "utf8")) };
}

/** Runs one `run:` step of an action alone, its env evaluated from the inputs and github context. */
export async function runStep(name: string, step: ActionStep, o: RunOptions): Promise<Run> {
  const { action } = await loadAction(name);
  return execStep(name, step, baseContext(action, o), o);
}

/** What happened to a step: bash ran it, its `if:` was false, or the runner's action would run it. */
export type StepOutcome = "run" | "skip" | "uses";

export interface ActionRun extends Run {
  /** Each step by its name (or `uses:` without the pin) and what happened to it, in order. */
  steps: Array<[string, StepOutcome]>;
}

/**
 * Runs a whole action: every step whose `if:` holds, in order, until one fails (the later steps are then
 * skipped, as without `if: always()`); outputs are the action's declared outputs.
 */
export async function runAction(name: string, o: RunOptions): Promise<ActionRun> {
  const { action } = await loadAction(name);
  const context = { ...baseContext(action, o), steps: {} as Record<string, { outputs: object }> };
  const steps: Array<[string, StepOutcome]> = [];
  let all = "";
  let code = 0;
  for (const step of action.runs?.steps ?? []) {
    const label = step.name ? evaluate(step.name, context) : (step.uses ?? "").replace(/@.*/, "");
    if (code !== 0 || (step.if !== undefined && !condition(step.if, context))) {
      steps.push([label, "skip"]);
      continue;
    }
    if (step.uses) {
      steps.push([label, "uses"]);
      continue;
    }
    const r = await execStep(name, step, context, o);
    steps.push([label, "run"]);
    all += r.all ? `${r.all}\n` : "";
    code = r.code;
    if (step.id) context.steps[step.id] = { outputs: r.outputs };
  }
  const outputs = Object.fromEntries(
    Object.entries(action.outputs ?? {}).map(([k, v]) => [k, evaluate(v.value ?? "", context, "")]),
  );
  return { code, all, outputs, steps };
}

export async function eventFile(payload: object): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-event-")), "event.json");
  await writeFile(file, JSON.stringify(payload));
  return file;
}

/** A copy of promfleet's checkout for an action to install itself into, and the runner env it needs. */
export interface ActionRoot {
  root: string;
  /** RUNNER_TOOL_CACHE, PATH with the npm shim first, and the Go-free tool route. */
  env: Record<string, string> & { RUNNER_TOOL_CACHE: string };
  /** `$RUNNER_TOOL_CACHE/promfleet/<version>/<uname -m>`, holding links to this checkout's tools. */
  toolsDir: string;
  /** The file the npm shim appends each call to. */
  npmLog: string;
}

/**
 * A folder standing in for the action's checkout: package.json, scripts/, tools/ and the actions copied
 * (the install step writes `.tools` there), bin/, dist/ and node_modules/ linked to this checkout's
 * (built already, so the shimmed `npm ci`/`npm run build` only record that they ran), and a tool cache
 * holding what actions/cache restores: a previous run's tools, linked to this checkout's.
 */
export async function actionRoot(): Promise<ActionRoot> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-action-root-"));
  // copies, not links: `$GITHUB_ACTION_PATH/..` and the scripts' own root must be this folder, never
  // the checkout (whose .tools the install step would re-point)
  for (const rel of ["package.json", "scripts", "tools", "review", "review-comment", "on-merge"])
    await cp(path.join(repoRoot, rel), path.join(root, rel), { recursive: true });
  for (const rel of ["bin", "dist", "node_modules"])
    await symlink(path.join(repoRoot, rel), path.join(root, rel));
  const toolCache = await mkdtemp(path.join(os.tmpdir(), "promfleet-tool-cache-"));
  const shims = await mkdtemp(path.join(os.tmpdir(), "promfleet-shims-"));
  const npmLog = path.join(shims, "npm.log");
  await writeFile(path.join(shims, "npm"), `#!/bin/sh\necho "npm $*" >> "${npmLog}"\n`, { mode: 0o755 });
  const version = (JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { version: string })
    .version;
  const toolsDir = path.join(toolCache, "promfleet", version, (await execa("uname", ["-m"])).stdout);
  await mkdir(toolsDir, { recursive: true });
  await execa("cp", ["-R", "-s", `${await realpath(path.join(repoRoot, ".tools"))}/.`, toolsDir]);
  const env = {
    RUNNER_TOOL_CACHE: toolCache,
    PATH: `${shims}:${process.env.PATH}`,
    // the Go route (install-tools.sh), which finds the linked tools up to date; release files are
    // test/tool-release-install.test.ts's
    GO: "/bin/false",
    PROMFLEET_TOOLS_FROM_SOURCE: "1",
  };
  return { root, env, toolsDir, npmLog };
}

/** A job of a workflow, as far as these tests read it. */
export interface WorkflowJob {
  needs?: string | string[];
  "timeout-minutes"?: number;
  environment?: string;
  concurrency?: { group?: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string>;
  steps: ActionStep[];
}
export interface Workflow {
  concurrency?: unknown;
  jobs: Record<string, WorkflowJob>;
}

/** The step of a job that uses promfleet's on-merge action (released `…/on-merge@v…`, or `./on-merge`). */
export function onMergeStep(job: WorkflowJob): ActionStep {
  const steps = job.steps.filter((s) => /^(\.\/on-merge|[\w.-]+\/[\w.-]+\/on-merge@v.+)$/.test(s.uses ?? ""));
  expect(steps).toHaveLength(1);
  return steps[0] as ActionStep;
}

/** A step's `with:`, its `${{ … }}` evaluated (e.g. `secrets.*` from the test's context). */
export function stepInputs(step: ActionStep, context: Context): Record<string, string> {
  return Object.fromEntries(
    Object.entries(step.with ?? {}).map(([k, v]) => [k, evaluate(String(v), context)]),
  );
}

/** Minutes a job spends before promfleet runs: node, npm ci and the build, ytt built with Go on a cache miss. */
const INSTALL_MINUTES = 5;

/**
 * An on-merge workflow's rollout-continue job gives the command what it needs: it runs after
 * record-deployments, in the protected environment holding the aggregator's password, may write the
 * next wave's branch and pull request (or the comment), outlasts install + settle + wait, and is
 * serialised with itself (a job-level group, no workflow-wide one that would cancel other jobs' runs).
 */
export function expectRolloutContinueJob(workflow: Workflow, settleSeconds: number): WorkflowJob {
  const job = workflow.jobs["rollout-continue"];
  expect(job, "a rollout-continue job").toBeDefined();
  const j = job as WorkflowJob;
  expect([j.needs].flat()).toContain("record-deployments");
  expect(j.environment).toBeTruthy();
  expect(j.permissions).toEqual({ contents: "write", "pull-requests": "write" });
  const step = onMergeStep(j);
  expect(step.with?.command).toBe("rollout-continue");
  expect(step.with?.settle, "settle: the spec's sync period").toBeUndefined();
  const waitSeconds = parseDuration(step.with?.wait ?? "10m", "wait");
  expect(j["timeout-minutes"]).toBeGreaterThan(INSTALL_MINUTES + (settleSeconds + waitSeconds) / 60);
  expect(workflow.concurrency, "no workflow-wide group: it cancels pending runs' other jobs").toBeUndefined();
  expect(j.concurrency?.group).toBeTruthy();
  expect(j.concurrency?.["cancel-in-progress"]).toBe(false);
  const sharing = Object.entries(workflow.jobs).filter(
    ([, o]) => o.concurrency?.group === j.concurrency?.group,
  );
  expect(sharing.map(([name]) => name)).toEqual(["rollout-continue"]);
  return j;
}
