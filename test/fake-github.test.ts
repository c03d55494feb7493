import { mkdir, mkdtemp, readFile, rm, stat, writeFile, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { Octokit, RequestError } from "octokit";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { failures, startFakeGitHub, type FakeGitHub } from "./support/fake-github/index.js";

const OWNER = "acme";
const REPO = "fleet";
const TOKEN = "ghp_fake_token";
const repo = { owner: OWNER, repo: REPO };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const SEED: Record<string, string> = {
  "README.md": "# fleet\n",
  "clusters/kind/values.yaml": "replicas: 1\n",
  "clusters/kind/old.yaml": "stale: true\n",
  "clusters/dev/values.yaml": "replicas: 2\n",
};

let seedDir: string;
let fake: FakeGitHub;

function client(options: Record<string, unknown> = {}): Octokit {
  return new Octokit({
    auth: TOKEN,
    baseUrl: fake.url,
    log: quiet,
    throttle: { enabled: false },
    retry: { enabled: false },
    ...options,
  });
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

async function clone(branch = "main"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fake-github-clone-"));
  await execa("git", ["clone", "--quiet", "--branch", branch, fake.bareRepo, dir]);
  return dir;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** a request that bypasses octokit's route typings, to send deliberately invalid input */
function raw(gh: Octokit, route: string, params: Record<string, unknown>) {
  return gh.request(route, params);
}

async function failure(p: Promise<unknown>): Promise<RequestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected the request to fail").toBeInstanceOf(RequestError);
  return err as RequestError;
}

beforeAll(async () => {
  seedDir = await mkdtemp(join(tmpdir(), "fake-github-seed-"));
  await writeTree(seedDir, SEED);
});

afterAll(async () => {
  await rm(seedDir, { recursive: true, force: true });
});

beforeEach(async () => {
  fake = await startFakeGitHub({
    owner: OWNER,
    repo: REPO,
    token: TOKEN,
    seedDir,
    scopes: ["repo", "workflow"],
  });
});

afterEach(async () => {
  await fake.close();
});

describe("fake GitHub: Git Data API flow", () => {
  it("builds a commit from blobs and trees, opens, labels, comments, merges and clones", async () => {
    const gh = client();
    const { data: mainRef } = await gh.rest.git.getRef({ ...repo, ref: "heads/main" });
    const baseSha = mainRef.object.sha;
    const { data: baseCommit } = await gh.rest.git.getCommit({ ...repo, commit_sha: baseSha });

    const changed = await gh.rest.git.createBlob({ ...repo, content: "replicas: 3\n", encoding: "utf-8" });
    const script = Buffer.from("#!/bin/sh\necho hi\n").toString("base64");
    const added = await gh.rest.git.createBlob({ ...repo, content: script, encoding: "base64" });
    const { data: tree } = await gh.rest.git.createTree({
      ...repo,
      base_tree: baseCommit.tree.sha,
      tree: [
        { path: "clusters/kind/values.yaml", mode: "100644", type: "blob", sha: changed.data.sha },
        { path: "clusters/prod/eu/values.yaml", mode: "100644", type: "blob", content: "replicas: 5\n" },
        { path: "clusters/kind/old.yaml", mode: "100644", type: "blob", sha: null },
        { path: "bin/hello.sh", mode: "100755", type: "blob", sha: added.data.sha },
      ],
    });
    const { data: commit } = await gh.rest.git.createCommit({
      ...repo,
      message: "promfleet: update kind",
      tree: tree.sha,
      parents: [baseSha],
      author: { name: "Prom Fleet", email: "promfleet@example.com", date: "2024-05-01T12:00:00Z" },
    });
    expect(commit.author).toMatchObject({ name: "Prom Fleet", date: "2024-05-01T12:00:00Z" });
    expect(commit.parents.map((p) => p.sha)).toEqual([baseSha]);

    const branch = "promfleet/update-kind";
    const { data: ref } = await gh.rest.git.createRef({
      ...repo,
      ref: `refs/heads/${branch}`,
      sha: commit.sha,
    });
    expect(ref).toMatchObject({ ref: `refs/heads/${branch}`, object: { sha: commit.sha, type: "commit" } });

    const { data: pr } = await gh.rest.pulls.create({
      ...repo,
      head: branch,
      base: "main",
      title: "Update kind",
      body: "b",
    });
    expect(pr).toMatchObject({
      number: 1,
      state: "open",
      head: { ref: branch, sha: commit.sha },
      base: { ref: "main" },
    });
    expect(pr.html_url).toContain(`/${OWNER}/${REPO}/pull/1`);
    expect(pr).toMatchObject({ commits: 1, changed_files: 4 });

    const dup = await failure(gh.rest.pulls.create({ ...repo, head: branch, base: "main", title: "again" }));
    expect(dup.status).toBe(422);
    expect(dup.message).toContain(`A pull request already exists for ${OWNER}:${branch}.`);

    const listed = await gh.rest.pulls.list({ ...repo, head: `${OWNER}:${branch}`, state: "open" });
    expect(listed.data.map((p) => p.number)).toEqual([1]);
    expect((await gh.rest.pulls.list({ ...repo, head: `${OWNER}:nope` })).data).toEqual([]);

    const labels = await gh.rest.issues.addLabels({
      ...repo,
      issue_number: pr.number,
      labels: ["promfleet", "kind"],
    });
    expect(labels.data.map((l) => l.name)).toEqual(["promfleet", "kind"]);
    const { data: comment } = await gh.rest.issues.createComment({
      ...repo,
      issue_number: pr.number,
      body: "plan v1",
    });
    await gh.rest.issues.updateComment({ ...repo, comment_id: comment.id, body: "plan v2" });
    const comments = await gh.rest.issues.listComments({ ...repo, issue_number: pr.number });
    expect(comments.data.map((c) => c.body)).toEqual(["plan v2"]);
    expect(fake.comments(pr.number)).toEqual([{ id: comment.id, body: "plan v2", author: OWNER }]);

    const mergedSha = await fake.mergePull(pr.number);
    expect(mergedSha).toBe(commit.sha); // fast-forward
    expect(fake.pulls()).toEqual([
      {
        number: 1,
        state: "closed",
        head: branch,
        base: "main",
        title: "Update kind",
        body: "b",
        labels: ["promfleet", "kind"],
        merged: true,
      },
    ]);
    expect((await gh.rest.git.getRef({ ...repo, ref: "heads/main" })).data.object.sha).toBe(mergedSha);
    expect((await gh.rest.pulls.get({ ...repo, pull_number: 1 })).data).toMatchObject({
      merged: true,
      state: "closed",
    });

    const dir = await clone();
    try {
      expect(await readFile(join(dir, "clusters/kind/values.yaml"), "utf8")).toBe("replicas: 3\n");
      expect(await readFile(join(dir, "clusters/prod/eu/values.yaml"), "utf8")).toBe("replicas: 5\n");
      expect(await readFile(join(dir, "clusters/dev/values.yaml"), "utf8")).toBe("replicas: 2\n");
      expect(await exists(join(dir, "clusters/kind/old.yaml"))).toBe(false);
      expect((await stat(join(dir, "bin/hello.sh"))).mode & 0o111).not.toBe(0);
      const log = await execa("git", ["-C", dir, "log", "--format=%an|%s", "-1"]);
      expect(log.stdout).toBe("Prom Fleet|promfleet: update kind");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    expect(fake.validationErrors).toEqual([]);
    expect(fake.responseWarnings).toEqual([]);
    expect(fake.requests.every((r) => r.operationId !== undefined)).toBe(true);
    expect(fake.requests.find((r) => r.operationId === "pulls/create")?.body).toMatchObject({ head: branch });
  });

  it("creates a real merge commit when the base moved", async () => {
    const gh = client();
    await fake.commitToBranch("feature", { "clusters/kind/values.yaml": "replicas: 9\n" }, "feature change");
    const mainSha = await fake.commitToBranch(
      "main",
      { "clusters/dev/values.yaml": "replicas: 7\n" },
      "main change",
    );
    const { data: pr } = await gh.rest.pulls.create({ ...repo, head: "feature", base: "main", title: "t" });
    const merged = await fake.mergePull(pr.number);
    const { data: commit } = await gh.rest.git.getCommit({ ...repo, commit_sha: merged });
    expect(commit.parents.map((p) => p.sha)).toEqual([mainSha, pr.head.sha]);
    const dir = await clone();
    try {
      expect(await readFile(join(dir, "clusters/kind/values.yaml"), "utf8")).toBe("replicas: 9\n");
      expect(await readFile(join(dir, "clusters/dev/values.yaml"), "utf8")).toBe("replicas: 7\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(fake.validationErrors).toEqual([]);
  });

  it("reads trees recursively, blobs, matching refs and contents", async () => {
    const gh = client();
    await fake.commitToBranch("promfleet/a", { "x.txt": "x\n" }, "a");
    await fake.commitToBranch("promfleet/b", { "clusters/kind/values.yaml": null }, "b");
    const { data: tree } = await gh.rest.git.getTree({ ...repo, tree_sha: "main", recursive: "1" });
    expect(tree.tree.map((e) => e.path).sort()).toEqual([
      "README.md",
      "clusters",
      "clusters/dev",
      "clusters/dev/values.yaml",
      "clusters/kind",
      "clusters/kind/old.yaml",
      "clusters/kind/values.yaml",
    ]);
    const entry = tree.tree.find((e) => e.path === "clusters/kind/values.yaml");
    const { data: blob } = await gh.rest.git.getBlob({ ...repo, file_sha: entry?.sha ?? "" });
    expect(Buffer.from(blob.content, "base64").toString()).toBe("replicas: 1\n");
    const refs = await gh.rest.git.listMatchingRefs({ ...repo, ref: "heads/promfleet/" });
    expect(refs.data.map((r) => r.ref)).toEqual(["refs/heads/promfleet/a", "refs/heads/promfleet/b"]);
    const { data: file } = await gh.rest.repos.getContent({
      ...repo,
      path: "clusters/kind/values.yaml",
      ref: "main",
    });
    expect(Buffer.from((file as { content: string }).content, "base64").toString()).toBe("replicas: 1\n");
    const missing = await failure(
      gh.rest.repos.getContent({ ...repo, path: "clusters/kind/values.yaml", ref: "promfleet/b" }),
    );
    expect(missing.status).toBe(404);
    const { data: br } = await gh.rest.repos.getBranch({ ...repo, branch: "promfleet/a" });
    expect(br.name).toBe("promfleet/a");
    expect(fake.validationErrors).toEqual([]);
    expect(fake.responseWarnings).toEqual([]);
  });

  it("enforces fast-forward ref updates unless forced, and deletes refs", async () => {
    const gh = client();
    const a = await fake.commitToBranch("topic", { "a.txt": "a\n" }, "a");
    const main = (await gh.rest.git.getRef({ ...repo, ref: "heads/main" })).data.object.sha;
    const nonFf = await failure(gh.rest.git.updateRef({ ...repo, ref: "heads/topic", sha: main }));
    expect(nonFf.status).toBe(422);
    expect(nonFf.message).toContain("Update is not a fast forward");
    const forced = await gh.rest.git.updateRef({ ...repo, ref: "heads/topic", sha: main, force: true });
    expect(forced.data.object.sha).toBe(main);
    await gh.rest.git.updateRef({ ...repo, ref: "heads/topic", sha: a }); // fast-forward is fine
    const exists = await failure(gh.rest.git.createRef({ ...repo, ref: "refs/heads/topic", sha: a }));
    expect(exists.message).toContain("Reference already exists");
    await gh.rest.git.deleteRef({ ...repo, ref: "heads/topic" });
    expect((await failure(gh.rest.git.getRef({ ...repo, ref: "heads/topic" }))).status).toBe(404);
    expect(fake.validationErrors).toEqual([]);
  });

  it("reads refs git has packed, and sees objects written after it first looked", async () => {
    const gh = client();
    const topic = await fake.commitToBranch("topic", { "a.txt": "a\n" }, "a");
    await execa("git", ["--git-dir", fake.bareRepo, "pack-refs", "--all"]);
    expect(await exists(join(fake.bareRepo, "refs/heads/topic"))).toBe(false);
    const { data } = await gh.rest.git.getRef({ ...repo, ref: "heads/topic" });
    expect(data.object).toMatchObject({ sha: topic, type: "commit" });
    const taken = await failure(gh.rest.git.createRef({ ...repo, ref: "refs/heads/topic", sha: topic }));
    expect(taken.message).toContain("Reference already exists");

    const content = "written by another git process\n";
    const { stdout: later } = await execa("git", ["hash-object", "--stdin"], { input: content });
    const early = await failure(gh.rest.git.createRef({ ...repo, ref: "refs/tags/later", sha: later }));
    expect(early.message).toContain("Object does not exist");
    await execa("git", ["--git-dir", fake.bareRepo, "hash-object", "-w", "--stdin"], { input: content });
    const made = await gh.rest.git.createRef({ ...repo, ref: "refs/tags/later", sha: later });
    expect(made.data.object).toMatchObject({ sha: later, type: "blob" });
    expect(fake.validationErrors).toEqual([]);
  });

  it("handles branch names containing slashes in ref paths", async () => {
    const gh = client();
    const first = await fake.commitToBranch("promfleet/kind/topic", { "a.txt": "a\n" }, "a");
    const second = await fake.commitToBranch("promfleet/kind/topic", { "b.txt": "b\n" }, "b");
    const { data } = await gh.rest.git.getRef({ ...repo, ref: "heads/promfleet/kind/topic" });
    expect(data.object.sha).toBe(second);
    await gh.rest.git.updateRef({ ...repo, ref: "heads/promfleet/kind/topic", sha: first, force: true });
    await gh.rest.git.deleteRef({ ...repo, ref: "heads/promfleet/kind/topic" });
    expect(fake.requests.map((r) => r.path)).toContain(
      `/repos/${OWNER}/${REPO}/git/refs/heads/promfleet/kind/topic`,
    );
    const gone = await failure(gh.rest.git.deleteRef({ ...repo, ref: "heads/promfleet/kind/topic" }));
    expect(gone.status).toBe(422);
    expect(fake.validationErrors).toEqual([]);
  });

  it("updates, closes, reopens and merges pull requests through the API", async () => {
    const gh = client();
    await fake.commitToBranch("one", { "one.txt": "1\n" }, "one");
    await fake.commitToBranch("two", { "two.txt": "2\n" }, "two");
    const { data: p1 } = await gh.rest.pulls.create({ ...repo, head: "one", base: "main", title: "one" });
    await gh.rest.pulls.create({ ...repo, head: `${OWNER}:two`, base: "main", title: "two", draft: true });
    // like GitHub, a head filter without "owner:" is silently ignored
    expect((await gh.rest.pulls.list({ ...repo, head: "one" })).data).toHaveLength(2);
    expect((await gh.rest.pulls.list({ ...repo, head: `${OWNER}:one` })).data).toHaveLength(1);

    const pushed = await fake.commitToBranch("one", { "one.txt": "1b\n" }, "one again");
    const { data: updated } = await gh.rest.pulls.update({
      ...repo,
      pull_number: p1.number,
      title: "one!",
      body: "x",
    });
    expect(updated).toMatchObject({ title: "one!", body: "x", head: { sha: pushed }, commits: 2 });
    await gh.rest.pulls.update({ ...repo, pull_number: p1.number, state: "closed" });
    expect((await gh.rest.pulls.list({ ...repo, state: "closed" })).data.map((p) => p.number)).toEqual([
      p1.number,
    ]);
    await gh.rest.pulls.update({ ...repo, pull_number: p1.number, state: "open" });

    const stale = await failure(gh.rest.pulls.merge({ ...repo, pull_number: p1.number, sha: p1.head.sha }));
    expect(stale.status).toBe(409);
    const { data: merge } = await gh.rest.pulls.merge({
      ...repo,
      pull_number: p1.number,
      merge_method: "squash",
    });
    expect(merge.merged).toBe(true);
    const { data: squashed } = await gh.rest.git.getCommit({ ...repo, commit_sha: merge.sha });
    expect(squashed.parents).toHaveLength(1);
    expect(fake.pulls().map((p) => [p.number, p.state, p.merged])).toEqual([
      [1, "closed", true],
      [2, "open", false],
    ]);
    const again = await failure(gh.rest.pulls.merge({ ...repo, pull_number: p1.number }));
    expect(again.status).toBe(405);
    expect(fake.validationErrors).toEqual([]);
    expect(fake.responseWarnings).toEqual([]);
  });

  it("rejects a pull request without commits", async () => {
    const gh = client();
    const main = (await gh.rest.git.getRef({ ...repo, ref: "heads/main" })).data.object.sha;
    await gh.rest.git.createRef({ ...repo, ref: "refs/heads/empty", sha: main });
    const err = await failure(gh.rest.pulls.create({ ...repo, head: "empty", base: "main", title: "t" }));
    expect(err.status).toBe(422);
    expect(err.message).toContain("No commits between main and empty");
  });

  it("tracks deployments and their statuses", async () => {
    const gh = client();
    const { data: d } = await gh.rest.repos.createDeployment({
      ...repo,
      ref: "main",
      environment: "kind",
      auto_merge: false,
      required_contexts: [],
      payload: { cluster: "kind" },
      description: "rollout",
    });
    expect("id" in d).toBe(true);
    const id = (d as { id: number }).id;
    await gh.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id, state: "in_progress" });
    await gh.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: id,
      state: "success",
      log_url: "https://ci/1",
    });
    const listed = await gh.rest.repos.listDeployments({ ...repo, environment: "kind" });
    expect(listed.data.map((x) => x.id)).toEqual([id]);
    expect(fake.deployments()).toEqual([
      {
        id,
        ref: "main",
        environment: "kind",
        statuses: ["in_progress", "success"],
        payload: { cluster: "kind" },
        description: "rollout",
      },
    ]);
    const bad = await failure(gh.rest.repos.createDeployment({ ...repo, ref: "nope" }));
    expect(bad.status).toBe(422);
    expect(fake.validationErrors).toEqual([]);
    expect(fake.responseWarnings).toEqual([]);
  });
});

describe("fake GitHub: request validation and auth", () => {
  it("rejects a tree entry without mode with 422 and records a validation error", async () => {
    const gh = client();
    const err = await failure(
      raw(gh, "POST /repos/{owner}/{repo}/git/trees", {
        ...repo,
        tree: [{ path: "a.txt", type: "blob", content: "a" }],
      }),
    );
    expect(err.status).toBe(422);
    expect(fake.validationErrors).toHaveLength(1);
    expect(fake.validationErrors[0]).toMatch(/git\/create-tree.*"mode" wasn't supplied/);
  });

  it("rejects a pull request without head against the OpenAPI schema", async () => {
    const gh = client();
    const err = await failure(
      raw(gh, "POST /repos/{owner}/{repo}/pulls", { ...repo, title: "t", base: "main" }),
    );
    expect(err.status).toBe(422);
    expect(fake.validationErrors.join("\n")).toMatch(/pulls\/create.*"head" wasn't supplied/);
    expect(fake.requests.at(-1)).toMatchObject({ method: "POST", status: 422, operationId: "pulls/create" });
  });

  it("rejects wrong types, bad enums and unknown endpoints", async () => {
    const gh = client();
    const badType = await failure(
      raw(gh, "PATCH /repos/{owner}/{repo}/git/refs/{ref}", { ...repo, ref: "heads/main", sha: 42 }),
    );
    expect(badType.status).toBe(422);
    const badEnum = await failure(raw(gh, "GET /repos/{owner}/{repo}/pulls", { ...repo, state: "merged" }));
    expect(badEnum.status).toBe(422);
    const unknown = await failure(raw(gh, "GET /repos/{owner}/{repo}/no-such-thing", repo));
    expect(unknown.status).toBe(404);
    expect(fake.validationErrors).toHaveLength(3);
    expect(fake.validationErrors[2]).toContain("no operation");
  });

  it("requires the right token and advertises scopes and rate limits", async () => {
    const ok = await client().rest.repos.get(repo);
    expect(ok.data).toMatchObject({
      full_name: `${OWNER}/${REPO}`,
      default_branch: "main",
      permissions: { push: true },
    });
    expect(ok.headers["x-oauth-scopes"]).toBe("repo, workflow");
    expect(ok.headers["x-ratelimit-remaining"]).toBeDefined();
    const bad = await failure(client({ auth: "wrong" }).rest.repos.get(repo));
    expect(bad.status).toBe(401);
    expect(bad.message).toContain("Bad credentials");
    const anon = new Octokit({
      baseUrl: fake.url,
      log: quiet,
      throttle: { enabled: false },
      retry: { enabled: false },
    });
    expect((await failure(anon.rest.repos.get(repo))).status).toBe(401);
    const other = await failure(client().rest.repos.get({ owner: OWNER, repo: "other" }));
    expect(other.status).toBe(404);
    expect(fake.requests.find((r) => r.status === 401)?.headers.authorization).toBe("token wrong");
  });

  it("knows who wrote each comment, and answers GET /user for an app's bot with 403", async () => {
    expect((await client().rest.users.getAuthenticated()).data.login).toBe(OWNER);
    await fake.close();
    fake = await startFakeGitHub({
      owner: OWNER,
      repo: REPO,
      token: TOKEN,
      seedDir,
      actor: "github-actions[bot]",
    });
    const gh = client();
    const me = await failure(gh.rest.users.getAuthenticated());
    expect([me.status, me.message]).toEqual([
      403,
      expect.stringContaining("Resource not accessible by integration"),
    ]);
    await fake.commitToBranch("feature", { "README.md": "# changed\n" }, "change");
    const { data: pr } = await gh.rest.pulls.create({ ...repo, head: "feature", base: "main", title: "t" });
    fake.plantComment(pr.number, "first", "mallory");
    await gh.rest.issues.createComment({ ...repo, issue_number: pr.number, body: "second" });
    const { data } = await gh.rest.issues.listComments({ ...repo, issue_number: pr.number });
    expect(data.map((c) => [c.body, c.user?.login, c.user?.type])).toEqual([
      ["first", "mallory", "User"],
      ["second", "github-actions[bot]", "Bot"],
    ]);
    expect(fake.comments(pr.number).map((c) => c.author)).toEqual(["mallory", "github-actions[bot]"]);
    expect(fake.validationErrors).toEqual([]);
    expect(fake.responseWarnings).toEqual([]);
  });
});

describe("fake GitHub: failure injection", () => {
  const refPath = `/repos/${OWNER}/${REPO}/git/ref/heads/main`;
  const getMain = (gh: Octokit) => gh.rest.git.getRef({ ...repo, ref: "heads/main" });

  it.each([
    ["bad credentials", failures.badCredentials(refPath), 401, "Bad credentials"],
    ["missing scope", failures.missingScope(refPath), 403, "Resource not accessible by integration"],
    ["not found", { path: refPath, status: 404 }, 404, "Not Found"],
    [
      "conflict",
      { path: refPath, status: 409, body: { message: "Git Repository is empty." } },
      409,
      "Git Repository is empty.",
    ],
    ["unprocessable", { path: /git\/ref\//, status: 422 }, 422, "Unprocessable Entity"],
    ["primary rate limit", failures.primaryRateLimit(refPath), 403, "API rate limit exceeded"],
    ["secondary rate limit (403)", failures.secondaryRateLimit(refPath), 403, "secondary rate limit"],
    ["secondary rate limit (429)", failures.secondaryRateLimit(refPath, 429), 429, "secondary rate limit"],
  ] as const)("%s", async (_name, injection, status, message) => {
    const gh = client();
    fake.inject(injection);
    const err = await failure(getMain(gh));
    expect(err.status).toBe(status);
    expect(err.message).toContain(message);
    expect((await getMain(gh)).status).toBe(200); // times defaults to 1
    expect(fake.requests.map((r) => r.status)).toEqual([status, 200]);
  });

  it("sends the headers octokit's throttling logic reads", async () => {
    const gh = client();
    fake.inject(failures.missingScope(refPath));
    fake.inject(failures.primaryRateLimit(refPath, 30));
    fake.inject(failures.secondaryRateLimit(refPath, 429));
    const scope = await failure(getMain(gh));
    expect(scope.response?.headers["x-accepted-oauth-scopes"]).toBe("repo");
    const primary = await failure(getMain(gh));
    expect(primary.response?.headers["x-ratelimit-remaining"]).toBe("0");
    expect(Number(primary.response?.headers["x-ratelimit-reset"])).toBeGreaterThan(Date.now() / 1000);
    const secondary = await failure(getMain(gh));
    expect(secondary.response?.headers["retry-after"]).toBe("1");
  });

  it("drops the connection for a network error and honours times/method", async () => {
    const gh = client();
    fake.inject({ ...failures.networkError(/\/git\/ref\//), times: 2 });
    fake.inject({ method: "POST", path: `/repos/{owner}/{repo}/git/blobs`, status: 500 });
    await expect(getMain(gh)).rejects.toThrow();
    await expect(getMain(gh)).rejects.toThrow();
    expect((await getMain(gh)).status).toBe(200);
    const blob = await failure(gh.rest.git.createBlob({ ...repo, content: "x" }));
    expect(blob.status).toBe(500);
    expect(fake.requests.map((r) => r.status)).toEqual([0, 0, 200, 500]);
  });

  it("lets octokit's throttling plugin retry after a secondary rate limit", async () => {
    const seen: number[] = [];
    const gh = client({
      throttle: {
        onRateLimit: () => false,
        onSecondaryRateLimit: (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) => {
          seen.push(retryAfter);
          return retryCount < 1;
        },
      },
    });
    fake.inject(failures.secondaryRateLimit(refPath));
    expect((await getMain(gh)).status).toBe(200);
    expect(seen).toEqual([1]);
    expect(fake.requests.map((r) => r.status)).toEqual([403, 200]);
  });
});
