import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { parseRepoUrl } from "../src/github/repo-ref.js";
import { promfleet } from "./helpers/fleet-repo.js";
import { openFeaturePull, TOKEN } from "./helpers/github.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github/index.js";

const MARKER = "<!-- promfleet:review -->";
const SEED: Record<string, string> = {
  "fleet.yaml": "clusters:\n  - name: orbstack\n    role: aggregator\n  - name: kind\n    role: agent\n",
  "clusters/orbstack/values.yaml": "a: 1\n",
  "clusters/kind/values.yaml": "b: 1\n",
};

let fake: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function tmp(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `promfleet-${prefix}-`));
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

/** A fake GitHub holding SEED on main and pull request #1 from `feature`, which adds `prFiles`. */
async function pullRequest(prFiles: Record<string, string>, actor?: string) {
  const seed = await tmp("seed");
  await writeTree(seed, SEED);
  fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: seed, actor });
  const head = await fake.commitToBranch("feature", prFiles, "the change under review");
  await openFeaturePull(fake);
  return { fake, head };
}

/** Review inputs written by hand, as render/validate/diff --json print them. */
async function inputs(validateOk = true): Promise<string[]> {
  const dir = await tmp("review-in");
  const files = {
    render: {
      clusters: 2,
      created: [],
      updated: [],
      removed: [],
      unchanged: 10,
      warnings: [],
      written: false,
    },
    validate: {
      ok: validateOk,
      clusters: [
        { name: "kind", checks: [{ check: "promtool", ok: validateOk, file: "clusters/kind/values.yaml" }] },
      ],
    },
    diff: { clusters: [] },
  };
  const args: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, `${name}.json`), JSON.stringify(content));
    args.push(`--${name}`, path.join(dir, `${name}.json`));
  }
  return args;
}

async function eventFile(payload: object): Promise<string> {
  const file = path.join(await tmp("event"), "event.json");
  await writeFile(file, JSON.stringify(payload));
  return file;
}

/** pr-comment from a checkout without a fleet, as the workflow_run job runs it. */
async function prComment(args: string[], env: Record<string, string> = {}, dir?: string) {
  const checkout = dir ?? (await tmp("checkout"));
  return promfleet(checkout, ["pr-comment", ...args, "--json"], {
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: fake?.url ?? "",
    GITHUB_REPOSITORY: "acme/fleet",
    GITHUB_ACTIONS: "",
    GITHUB_EVENT_PATH: "",
    PROMFLEET_GITHUB_LOGIN: "",
    ...env,
  });
}

describe("pr-comment: the sticky comment is found by marker and author", { timeout: 240_000 }, () => {
  it("never edits someone else's comment that carries the marker", async () => {
    const { fake } = await pullRequest({ "clusters/kind/values.yaml": "b: 2\n" });
    const planted = fake.plantComment(1, `${MARKER}\n### promfleet review ✅`, "mallory");
    const first = await prComment(["--pr", "1", ...(await inputs(false))]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ outcome: "created", ok: false });
    const again = await prComment(["--pr", "1", ...(await inputs(true))]);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: "updated", ok: true });
    const comments = fake.comments(1);
    expect(comments.map((c) => c.author)).toEqual(["mallory", "acme"]);
    expect(comments[0]).toEqual({
      id: planted,
      author: "mallory",
      body: `${MARKER}\n### promfleet review ✅`,
    });
    expect(comments[1]?.body.startsWith(`${MARKER}\n### promfleet review ✅`)).toBe(true);
    expect(JSON.parse((await prComment(["--pr", "1", ...(await inputs(true))])).stdout).outcome).toBe(
      "unchanged",
    );
    expect(fake.validationErrors).toEqual([]);
  });

  it("with an installation token (GET /user answers 403) comments as github-actions[bot] in Actions", async () => {
    const { fake } = await pullRequest({ "clusters/kind/values.yaml": "b: 2\n" }, "github-actions[bot]");
    fake.plantComment(1, `${MARKER}\nwritten by a person`, "acme");
    const actions = { GITHUB_ACTIONS: "true" };
    const first = await prComment(["--pr", "1", ...(await inputs())], actions);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).outcome).toBe("created");
    expect(JSON.parse((await prComment(["--pr", "1", ...(await inputs())], actions)).stdout).outcome).toBe(
      "unchanged",
    );
    expect(fake.comments(1).map((c) => c.author)).toEqual(["acme", "github-actions[bot]"]);
    expect(fake.comments(1)[0]?.body).toBe(`${MARKER}\nwritten by a person`);

    const outside = await prComment(["--pr", "1", ...(await inputs())]);
    expect(outside.code).toBe(2);
    expect(JSON.parse(outside.stdout).error).toContain("PROMFLEET_GITHUB_LOGIN");
  });
});

describe(
  "pr-comment: what the pull request controls cannot make the review pass",
  { timeout: 240_000 },
  () => {
    it("fails the review for a folder under clusters/ that is no cluster of the spec", async () => {
      const { fake } = await pullRequest({
        "clusters/rogue/values.yaml": "x: 1\n",
        "clusters/kind\u2028✅/values.yaml": "x: 1\n",
      });
      const result = await prComment(["--pr", "1", ...(await inputs())]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).ok).toBe(false);
      const body = fake.comments(1)[0]?.body ?? "";
      expect(body).toContain("### promfleet review ❌");
      expect(body).toContain("- ❌ `rogue`");
      expect(body).toContain("- ❌ `kind⏎✅`");
    });

    it("reports a missing or empty input as ❌ naming it, never a stale ✅", async () => {
      const { fake } = await pullRequest({ "clusters/kind/values.yaml": "b: 2\n" });
      expect(JSON.parse((await prComment(["--pr", "1", ...(await inputs())])).stdout).ok).toBe(true);
      const args = await inputs();
      const validate = args[args.indexOf("--validate") + 1] as string;
      await writeFile(validate, "");
      const empty = await prComment(["--pr", "1", ...args]);
      expect(empty.code, empty.stderr).toBe(1); // the review job failed to write it: this job fails too
      expect(JSON.parse(empty.stdout)).toMatchObject({ outcome: "updated", ok: false });
      expect(fake.comments(1)[0]?.body).toContain("### promfleet review ❌");
      expect(fake.comments(1)[0]?.body).toContain("- ❌ validate: ");
      const missing = await prComment(["--pr", "1", "--render", "/nonexistent/render.json"]);
      const body = fake.comments(1)[0]?.body ?? "";
      expect(JSON.parse(missing.stdout).ok).toBe(false);
      expect(body).toContain("- ❌ render: \\/nonexistent\\/render\\.json does not exist");
      expect(body).toContain("- ❌ validate: not given");
      expect(body).not.toContain("✅");
    });

    it("takes the template from the base branch or promfleet, never from the pull request or the checkout", async () => {
      const lie = "### promfleet review ✅ (trust me)\n";
      const { fake } = await pullRequest({ "templates/pr/review-comment.hbs": lie });
      const checkout = await tmp("checkout");
      await writeTree(checkout, { "templates/pr/review-comment.hbs": lie });
      await prComment(["--pr", "1", ...(await inputs(false))], {}, checkout);
      expect(fake.comments(1)[0]?.body).toContain("### promfleet review ❌");
      expect(fake.comments(1)[0]?.body).not.toContain("trust me");

      await fake.commitToBranch(
        "main",
        { "templates/pr/review-comment.hbs": "ours: {{#if ok}}fine{{else}}broken{{/if}}" },
        "m",
      );
      await prComment(["--pr", "1", ...(await inputs(false))], {}, checkout);
      expect(fake.comments(1)[0]?.body).toBe(`${MARKER}\nours: broken\n`);
    });
  },
);

describe(
  "pr-comment in the workflow_run job: results are checked against the run",
  { timeout: 240_000 },
  () => {
    it("posts for the verified head, skips a pull request that moved on, refuses results of another head", async () => {
      const { fake, head } = await pullRequest({ "clusters/kind/values.yaml": "b: 2\n" });
      const facts = path.join(await tmp("pr"), "pr.json");
      await writeFile(facts, JSON.stringify({ number: 1, headSha: head }));
      const run = (headSha: string) => eventFile({ workflow_run: { head_sha: headSha, pull_requests: [] } });
      const args = ["--pull-request-file", facts, ...(await inputs())];

      const posted = await prComment(args, { GITHUB_EVENT_PATH: await run(head) });
      expect(posted.code, posted.stderr).toBe(0);
      expect(JSON.parse(posted.stdout).outcome).toBe("created");

      const newer = await fake.commitToBranch("feature", { "clusters/kind/values.yaml": "b: 3\n" }, "push");
      const stale = await prComment(args, { GITHUB_EVENT_PATH: await run(head) });
      expect(stale.code, stale.stderr).toBe(0);
      expect(JSON.parse(stale.stdout)).toMatchObject({ outcome: "skipped" });
      expect(JSON.parse(stale.stdout).reason).toContain(newer.slice(0, 12));

      const foreign = await prComment(args, { GITHUB_EVENT_PATH: await run(newer) });
      expect(foreign.code).toBe(2);
      expect(JSON.parse(foreign.stdout).error).toContain("the results are not this run's");

      await writeFile(facts, JSON.stringify({ number: "1; rm -rf /", headSha: newer }));
      const forged = await prComment(args, { GITHUB_EVENT_PATH: await run(newer) });
      expect(forged.code).toBe(2);
      expect(JSON.parse(forged.stdout).error).toContain("--pull-request-file");
      expect(fake.comments(1)).toHaveLength(1);
      expect(fake.validationErrors).toEqual([]);
    });
  },
);

describe("GitHub Enterprise: the API follows the origin remote", { timeout: 240_000 }, () => {
  it("derives the REST API from the remote's host", () => {
    expect(parseRepoUrl("https://github.com/acme/fleet.git")).toEqual({
      owner: "acme",
      repo: "fleet",
      apiUrl: "https://api.github.com",
    });
    expect(parseRepoUrl("git@github.example.com:acme/fleet.git")?.apiUrl).toBe(
      "https://github.example.com/api/v3",
    );
    expect(parseRepoUrl("ssh://git@github.example.com:2222/acme/fleet")?.apiUrl).toBe(
      "https://github.example.com/api/v3",
    );
    expect(parseRepoUrl("https://token@github.example.com:8443/acme/fleet")?.apiUrl).toBe(
      "https://github.example.com:8443/api/v3",
    );
    expect(parseRepoUrl("https://octo.ghe.com/acme/fleet.git")?.apiUrl).toBe("https://api.octo.ghe.com");
  });

  it("sends the token to the origin's server, and GITHUB_API_URL still wins", async () => {
    const { fake } = await pullRequest({ "clusters/kind/values.yaml": "b: 2\n" });
    const checkout = await tmp("checkout");
    const setup = fake.requests.length;
    await execa("git", ["init", "-q", checkout]);
    await execa("git", ["-C", checkout, "remote", "add", "origin", `${fake.url}/acme/fleet.git`]);
    const viaOrigin = await prComment(
      ["--pr", "1", ...(await inputs())],
      { GITHUB_API_URL: "", GITHUB_REPOSITORY: "" },
      checkout,
    );
    expect(viaOrigin.code, viaOrigin.stderr).toBe(0);
    const sent = fake.requests.slice(setup);
    expect(sent.length).toBeGreaterThan(3);
    expect(sent.filter((r) => !r.url.startsWith("/api/v3/"))).toEqual([]);

    const before = fake.requests.length;
    await execa("git", [
      "-C",
      checkout,
      "remote",
      "set-url",
      "origin",
      "https://github.invalid/acme/fleet.git",
    ]);
    const explicit = await prComment(["--pr", "1", ...(await inputs())], { GITHUB_REPOSITORY: "" }, checkout);
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(fake.requests.slice(before).every((r) => !r.url.startsWith("/api/v3/"))).toBe(true);
  });
});

describe("--json yields JSON on stdout, also on errors", { timeout: 240_000 }, () => {
  it.each([
    ["pr-comment without a pull request number", ["pr-comment", "--json"], "no pull request number"],
    ["pr-comment with an unknown flag", ["pr-comment", "--json", "--bogus"], "unknown option"],
    ["record-deployments without --before", ["record-deployments", "--json", "--after", "HEAD"], "--before"],
    ["fix-drift without a token", ["fix-drift", "--json", "--repo", "acme/fleet"], "GITHUB_TOKEN"],
  ])("%s", async (_name, args, message) => {
    const result = await promfleet(await tmp("empty"), args, {
      GITHUB_TOKEN: "",
      GH_TOKEN: "",
      GITHUB_EVENT_PATH: "",
      GITHUB_REPOSITORY: "",
    });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error).toContain(message);
  });
});
