import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  exampleFleetRepo,
  promfleet,
  readRepoFile,
  fixturesDir,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { cloneBranch, git, githubFleet, TOKEN, type GitHubFleet } from "./helpers/github.js";

let current: GitHubFleet | undefined;
afterEach(async () => {
  await current?.fake.close();
  current = undefined;
});

async function eventFile(payload: object): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-event-")), "event.json");
  await writeFile(file, JSON.stringify(payload));
  return file;
}

async function save(dir: string, name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe("pr-comment (pull_request event)", { timeout: 240_000 }, () => {
  it("creates one sticky comment, updates it on the next push, leaves it alone when nothing changed", async () => {
    current = await githubFleet();
    const { fake, run } = current;
    expect((await run(["onboard-cluster", "edge-1", "--pr"])).code).toBe(0);
    const clone = await cloneBranch(fake, "promfleet/onboard-edge-1");
    const env = {
      GITHUB_EVENT_PATH: await eventFile({ action: "synchronize", number: 1, pull_request: { number: 1 } }),
      GITHUB_REPOSITORY: "acme/fleet",
    };
    const tmp = await mkdtemp(path.join(os.tmpdir(), "promfleet-review-"));
    const crds = ["--crds", path.join(fixturesDir, "crds")];
    const render = await save(
      tmp,
      "render.json",
      (await promfleet(clone, ["render", "--check", "--json"])).stdout,
    );
    const validate = await save(
      tmp,
      "validate.json",
      (await promfleet(clone, ["validate", ...crds, "--json"])).stdout,
    );
    const diff = await save(
      tmp,
      "diff.json",
      (await promfleet(clone, ["diff", "--base", "origin/main", "--format", "json"])).stdout,
    );
    const comment = (extra: Record<string, string> = {}) =>
      promfleet(clone, ["pr-comment", "--render", render, "--validate", validate, "--diff", diff, "--json"], {
        ...env,
        GITHUB_TOKEN: TOKEN,
        GITHUB_API_URL: fake.url,
        ...extra,
      });

    const first = await comment();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).outcome).toBe("created");
    const [created] = fake.comments(1);
    expect(created?.body).toContain("### promfleet review ✅");
    // the status table: validation ok, no drift, added with all its lines
    expect(created?.body).toMatch(/\| `edge-1` \| ok \| — \| added \| \+\d+ \| −0 \|/);
    expect(created?.body).toContain("<details><summary>edge-1: added +");

    expect(JSON.parse((await comment()).stdout).outcome).toBe("unchanged");
    await writeFile(
      validate,
      JSON.stringify({
        ok: false,
        clusters: [
          {
            name: "edge-1",
            checks: [
              {
                check: "promtool",
                ok: false,
                file: "clusters/edge-1/values.yaml",
                message: "bad regex @team *now*",
              },
            ],
          },
        ],
      }),
    );
    expect(JSON.parse((await comment()).stdout).outcome).toBe("updated");
    const comments = fake.comments(1);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("### promfleet review ❌");
    expect(comments[0]?.body).toContain("bad regex @\u200bteam \\*now\\*"); // escaped, and mentions nobody
    expect(fake.validationErrors).toEqual([]);
  });
});

describe("fix-drift (push to the default branch)", { timeout: 240_000 }, () => {
  it("opens exactly one fix-up pull request when the spec was edited without re-rendering", async () => {
    const seed = await exampleFleetRepo();
    await promfleet(seed, ["render"]);
    await writeRepoFile(
      seed,
      "fleet.yaml",
      (await readRepoFile(seed, "fleet.yaml")).replace("retention: 42d", "retention: 30d"),
    );
    current = await githubFleet(seed);
    const { fake, run } = current;
    const first = await run(["fix-drift", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      drift: true,
      files: [
        "clusters/orbstack/.promfleet-render.yaml",
        "clusters/orbstack/manifests/values-secret.yaml",
        "clusters/orbstack/values.yaml",
      ],
      pr: { number: 1, outcome: "created" },
    });
    expect(JSON.parse((await run(["fix-drift", "--json"])).stdout).pr.outcome).toBe("unchanged");
    expect(fake.pulls()).toHaveLength(1);
    expect(fake.pulls()[0]?.labels).toEqual(["promfleet", "drift"]);
    const fixed = await cloneBranch(fake, "promfleet/fix-drift");
    expect((await promfleet(fixed, ["render", "--check"])).code).toBe(0);
    await fake.mergePull(1);
    const after = await run(["fix-drift", "--json"]);
    expect(JSON.parse(after.stdout)).toEqual({ drift: false });
  });
});

describe("record-deployments (push to the default branch)", { timeout: 240_000 }, () => {
  it("records one deployment per changed cluster, environment = cluster", async () => {
    current = await githubFleet();
    const { fake, run } = current;
    await run(["onboard-cluster", "edge-1", "--pr"]);
    await fake.mergePull(1);
    const clone = await cloneBranch(fake, "main");
    const after = await git(clone, ["rev-parse", "HEAD"]);
    const before = await git(clone, ["rev-parse", "HEAD^"]);
    const result = await promfleet(
      clone,
      ["record-deployments", "--before", before, "--after", after, "--json"],
      { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.url, GITHUB_REPOSITORY: "acme/fleet" },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(fake.deployments().map((d) => [d.environment, d.ref, d.statuses])).toEqual([
      ["edge-1", after, ["success"]],
    ]);
    const none = await promfleet(clone, ["record-deployments", "--before", after, "--after", after], {
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: fake.url,
      GITHUB_REPOSITORY: "acme/fleet",
    });
    expect(none.stdout).toContain("no cluster changed");
    expect(fake.validationErrors).toEqual([]);
  });
});
