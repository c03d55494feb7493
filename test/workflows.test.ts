import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { fleetWorkflows } from "../src/init/workflows.js";
import { parseDuration } from "../src/util/duration.js";
import {
  expectRolloutContinueJob,
  onMergeStep,
  type Workflow as OnMergeWorkflow,
} from "./helpers/action-runner.js";
import { repoRoot } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

const workflowsDir = path.join(repoRoot, ".github", "workflows");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: unknown;
  jobs: Record<string, Job>;
}

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

  it("pin every action to a full commit sha with its version in a comment", async () => {
    // ./<action>: this checkout's own action, the same commit as the workflow
    const uses = (await workflows()).flatMap(({ file, text }) =>
      [...text.matchAll(/^\s*(?:- )?uses: (?!\.\/)(\S+)(.*)$/gm)].map((m) => ({
        file,
        action: m[1],
        comment: m[2],
      })),
    );
    expect(uses.length).toBeGreaterThan(10);
    for (const u of uses) {
      expect(u.action, u.file).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(u.comment, `${u.file}: ${u.action}`).toMatch(/^ # v\d+\.\d+\.\d+\b/);
    }
  });

  it("grant permissions per job, least privilege, and keep no credentials in checkouts", async () => {
    const allowedWrites: Record<string, string[]> = {
      "on-merge.yml/fix-drift": ["contents", "pull-requests"],
      "on-merge.yml/record-deployments": ["deployments"],
      "on-merge.yml/rollout-continue": ["contents", "pull-requests"],
      "pr-comment.yml/comment": ["pull-requests"],
    };
    for (const { file, text } of await workflows()) {
      const workflow = parse(text) as Workflow;
      expect(workflow.permissions, file).toEqual({});
      for (const [name, job] of Object.entries(workflow.jobs)) {
        expect(job.permissions, `${file}/${name} declares its permissions`).toBeDefined();
        const writes = Object.entries(job.permissions ?? {})
          .filter(([, level]) => level === "write")
          .map(([scope]) => scope)
          .sort();
        expect(writes, `${file}/${name}`).toEqual(allowedWrites[`${file}/${name}`] ?? []);
        for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/checkout@")))
          expect(step.with?.["persist-credentials"], `${file}/${name}`).toBe(false);
      }
    }
  });

  it("run pull-request code only without secrets, and post from a workflow_run job that never checks it out", async () => {
    for (const { file, text } of await workflows()) {
      const workflow = parse(text) as Workflow;
      expect(Object.keys(workflow.on), file).not.toContain("pull_request_target");
      if ("pull_request" in workflow.on) {
        expect(text, file).not.toMatch(/secrets\./);
        for (const job of Object.values(workflow.jobs))
          expect(Object.values(job.permissions ?? {}), file).not.toContain("write");
      }
      if ("workflow_run" in workflow.on)
        for (const job of Object.values(workflow.jobs)) {
          const checkouts = job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
          for (const c of checkouts)
            expect(c.with?.ref, `${file} checks out the default branch`).toBeUndefined();
          expect(job.steps.map((s) => s.run ?? "").join("\n"), file).not.toMatch(/head_sha|head\.sha|pull\//);
        }
    }
    const comment = (await workflows()).find((w) => w.file === "pr-comment.yml");
    expect(comment?.text).toContain("--pull-request-file");
  });

  it("on-merge.yml runs rollout-continue through this checkout's on-merge action, as init's workflow does", async () => {
    const text = await readFile(path.join(workflowsDir, "on-merge.yml"), "utf8");
    const spec = parse(await readFile(path.join(repoRoot, "fleet.yaml"), "utf8")) as {
      app?: { syncPeriod?: string };
      flux?: { interval?: string };
      clusters: Array<{ delivery?: string }>;
    };
    const periods = [spec.app?.syncPeriod ?? "1m"];
    if (spec.clusters.some((c) => c.delivery === "flux")) periods.push(spec.flux?.interval ?? "10m");
    const settle = Math.max(...periods.map((p) => parseDuration(p, "sync period")));
    const job = expectRolloutContinueJob(parse(text) as OnMergeWorkflow, settle);
    expect(onMergeStep(job).uses).toBe("./on-merge");
    const init = (await fleetWorkflows({ repo: "promfleet/promfleet", version: "1.2.3" })).get(
      "on-merge.yml",
    );
    const initJob = (parse(init ?? "") as OnMergeWorkflow).jobs["rollout-continue"];
    expect(onMergeStep(job).with).toEqual(initJob && onMergeStep(initJob).with);
    expect({ ...job, environment: undefined, steps: undefined }).toEqual({
      ...initJob,
      environment: undefined,
      steps: undefined,
    });
  });
});
