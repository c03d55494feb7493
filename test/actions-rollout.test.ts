/**
 * The on-merge action's rollout-continue path as a workflow runs it: the rollout-continue job of the
 * on-merge workflow promfleet init writes, its `with:` evaluated (secrets from the test's context),
 * the whole action run step by step (its `if:` conditions deciding which steps run) on the push a
 * wave's merge makes, against the fake GitHub (every request checked against GitHub's OpenAPI) and a
 * real aggregator with three agents. Only the durations are shortened, to keep the test fast.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { beforeAll, expect, it } from "vitest";
import { fleetWorkflows } from "../src/init/workflows.js";
import { e2eSkipReason } from "./support/e2e/env.js";
import { sleep } from "./support/e2e/prometheus-process.js";
import { describeWith } from "./support/prerequisites.js";
import {
  actionRoot,
  eventFile,
  onMergeStep,
  runAction,
  stepInputs,
  type ActionRoot,
  type ActionRun,
  type Workflow,
} from "./helpers/action-runner.js";
import { cloneBranch, git, TOKEN, type GitHubFleet } from "./helpers/github.js";
import { useRolloutFleet } from "./helpers/rollout-fleet.js";
import { WAVE_FLEET } from "./helpers/wave-fleet.js";

const NEW = "2.45.0+vmware.1-tkg.1";
const BRANCH = (wave: string) => `promfleet/rollout-2.45.0-vmware.1-tkg.1-${wave}`;
const REPOSITORY = { full_name: "acme/fleet", name: "fleet", owner: { login: "acme" } };
/** The only inputs the test changes from the workflow's: durations, so a run takes seconds. */
const FAST = { settle: "0s", wait: "30s", "max-staleness": "15s" };

const rollout = useRolloutFleet("action-rollout");
let root: ActionRoot;

beforeAll(async () => {
  if (e2eSkipReason()) return;
  root = await actionRoot();
});

/** The `with:` of the rollout-continue job of the on-merge workflow init writes. */
async function workflowInputs(): Promise<Record<string, string>> {
  const text = (await fleetWorkflows({ repo: "promfleet/promfleet", version: "1.2.3" })).get("on-merge.yml");
  const job = (parse(text ?? "") as Workflow).jobs["rollout-continue"];
  expect(job?.needs).toBe("record-deployments");
  return stepInputs(onMergeStep(job as NonNullable<typeof job>), {
    secrets: { PROMFLEET_AGGREGATOR_PASSWORD: "not-used-without-verify.username" },
  });
}

/** The wave fleet verifying against the real aggregator, rendered, on the fake's main branch. */
const setup = (spec = `${WAVE_FLEET}verify:\n  aggregatorUrl: ${rollout.prometheus.aggregatorUrl}\n`) =>
  rollout.onFakeGitHub(spec);

/** The on-merge action with the workflow's inputs, on the push that put main where it is now. */
async function onMerge(fake: GitHubFleet["fake"], inputs: Record<string, string>): Promise<ActionRun> {
  const main = await cloneBranch(fake, "main");
  const after = await git(main, ["rev-parse", "HEAD"]);
  const parents = await git(main, ["rev-list", "--parents", "-n", "1", "HEAD"]);
  const before = parents.split(" ")[1] ?? "0".repeat(40);
  const push = { ref: "refs/heads/main", before, after, repository: REPOSITORY };
  return runAction("on-merge", {
    with: inputs,
    github: { event: push, token: TOKEN },
    cwd: main,
    runnerTemp: await mkdtemp(path.join(os.tmpdir(), "promfleet-runner-temp-")),
    root: root.root,
    env: {
      ...root.env,
      GITHUB_EVENT_PATH: await eventFile(push),
      GITHUB_REPOSITORY: REPOSITORY.full_name,
      GITHUB_API_URL: fake.url,
      GITHUB_SHA: after,
    },
  });
}

async function resultOf(run: ActionRun): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(run.outputs["result-file"] as string, "utf8")) as Record<string, unknown>;
}

describeWith(e2eSkipReason(), "the on-merge action's rollout-continue (fake GitHub, real Prometheus)", () => {
  it("opens the next wave's pull request once, stops with one comment when a cluster stops receiving, and is a no-op without a rollout", async () => {
    const { fake, run } = await setup();
    const workflow = await workflowInputs();
    expect(workflow).toMatchObject({ command: "rollout-continue" });
    expect(Object.keys(FAST).filter((k) => k in workflow)).toEqual(["wait"]); // settle: the spec's sync period
    const inputs = { ...workflow, ...FAST };

    // a push that is not part of a rollout: nothing to continue, exit 0
    const idle = await onMerge(fake, inputs);
    expect(idle.code, idle.all).toBe(0);
    expect(await resultOf(idle)).toEqual({ outcome: "no-rollout" });
    expect(fake.pulls()).toEqual([]);

    const started = await run(["rollout", "start", "--package-version", NEW]);
    expect(started.code, started.stderr).toBe(0);
    await fake.mergePull(1); // wave canary: edge-1

    const next = await onMerge(fake, inputs);
    expect(next.code, next.all).toBe(0);
    expect(next.steps).toEqual([
      ["actions/setup-node", "uses"],
      ["Where this promfleet keeps its tools", "run"],
      ["Cache the pinned tools in the runner's tool cache", "uses"],
      ["actions/setup-go", "uses"], // the Go route (PROMFLEET_TOOLS_FROM_SOURCE), no cache hit
      ["Install promfleet (and ytt for fix-drift and rollout-continue)", "run"],
      ["Run promfleet rollout-continue", "run"],
    ]);
    expect(next.all).toMatch(/^ytt \S+ ok$/m);
    expect(await resultOf(next)).toMatchObject({
      outcome: "created",
      step: "early",
      branch: BRANCH("early"),
    });
    expect(fake.pulls().map((p) => [p.number, p.head, p.merged])).toEqual([
      [1, BRANCH("canary"), true],
      [2, BRANCH("early"), false],
    ]);

    // the same workflow run again (a re-run, or the next push): no duplicate
    const again = await onMerge(fake, inputs);
    expect(again.code, again.all).toBe(0);
    expect(await resultOf(again)).toMatchObject({ outcome: "unchanged", step: "early" });
    expect(fake.pulls()).toHaveLength(2);

    await fake.mergePull(2); // wave early: kind
    await rollout.prometheus.stop("kind");
    await sleep(12_000); // kind's newest sample ages past max-staleness
    const failing = { ...inputs, wait: "3s", "max-staleness": "8s" };
    const stopped = await onMerge(fake, failing);
    expect(stopped.code, stopped.all).toBe(1);
    const result = await resultOf(stopped);
    expect(result).toMatchObject({ outcome: "stopped", wave: "early", pr: 2 });
    expect((result.failing as Array<{ cluster: string }>).map((c) => c.cluster)).toEqual(["kind"]);
    expect((await onMerge(fake, failing)).code).toBe(1); // a re-run: the same one comment
    expect(fake.pulls()).toHaveLength(2);
    const comments = fake.comments(2);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("stopped after wave `early`");
    expect(comments[0]?.body).toMatch(/\| `kind` \| stale \| \d+s ago \|/);
    expect(fake.comments(1)).toEqual([]);
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);

  it("verifies a fleet writing to an external store through the store's query API, as verify does", async () => {
    // VictoriaMetrics single-node's query API is Prometheus's: the real aggregator stands in for it
    const external = WAVE_FLEET.replace(
      "remoteWrite:\n  auth: none\n",
      [
        "remoteWrite:",
        "  auth: none",
        "  url: https://victoria-metrics.example.com/api/v1/write",
        "  receiver:",
        "    kind: victoriametrics",
        `    queryUrl: ${rollout.prometheus.aggregatorUrl}`,
        "    tenancy: none",
        "    aggregatorCluster: keep",
        "",
      ].join("\n"),
    );
    expect(external).not.toBe(WAVE_FLEET);
    const { fake, run } = await setup(external);
    expect((await run(["rollout", "start", "--package-version", NEW])).code).toBe(0);
    await fake.mergePull(1);
    const next = await onMerge(fake, { ...(await workflowInputs()), ...FAST });
    expect(next.code, next.all).toBe(0);
    expect(await resultOf(next)).toMatchObject({ outcome: "created", step: "early" });
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);
});
