import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { failures } from "./support/fake-github/index.js";
import { promfleet, readRepoFile } from "./helpers/fleet-repo.js";
import { cloneBranch, git, githubFleet, TOKEN, type GitHubFleet } from "./helpers/github.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

const BRANCH = "promfleet/onboard-edge-1";
let current: GitHubFleet | undefined;
afterEach(async () => {
  await current?.fake.close();
  current = undefined;
});

async function setup(seed?: string): Promise<GitHubFleet> {
  current = await githubFleet(seed);
  return current;
}

function noToken(...outputs: string[]): void {
  for (const o of outputs) expect(o).not.toContain(TOKEN);
}

describe("onboard-cluster --pr", () => {
  it("opens one pull request holding one commit: the spec change and the rendered folder", async () => {
    const { fake, run } = await setup();
    const result = await run([
      "onboard-cluster",
      "edge-1",
      "--set",
      "prometheus.pvc.storage=2Gi",
      "--pr",
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    noToken(result.stdout, result.stderr);
    const out = JSON.parse(result.stdout);
    expect(out.pr).toMatchObject({ number: 1, outcome: "created" });
    expect(out.requests).toBeLessThanOrEqual(8);
    expect(fake.validationErrors).toEqual([]);

    const clone = await cloneBranch(fake, BRANCH);
    expect(await git(clone, ["rev-list", "--count", "origin/main..HEAD"])).toBe("1");
    const spec = await readFile(path.join(clone, "fleet.yaml"), "utf8");
    expect(spec).toContain("# INSECURE, the article's choice"); // comments kept
    expect(parse(spec).clusters.at(-1)).toEqual({
      name: "edge-1",
      role: "agent",
      values: { "prometheus.pvc.storage": "2Gi" },
    });
    const values = parse(await readFile(path.join(clone, "clusters/edge-1/values.yaml"), "utf8"));
    expect(values.prometheus.pvc.storage).toBe("2Gi");
    expect(await git(clone, ["show", "--name-only", "--format=", "HEAD"])).toContain(
      "clusters/edge-1/bootstrap/app.yaml",
    );
    const check = await promfleet(clone, ["render", "--check"]);
    expect(check.code, check.stdout).toBe(0);

    const [pr] = fake.pulls();
    expect(pr).toMatchObject({
      title: "promfleet: onboard cluster edge-1",
      head: BRANCH,
      base: "main",
      labels: ["promfleet", "onboard"],
    });
    expect(pr?.body).toContain("kubectl --context edge-1 apply -f clusters/edge-1/bootstrap/app.yaml");
    expect(pr?.body).toContain("sum(kube_pod_info) by (cluster, namespace)");
  });

  it("re-running changes nothing; after the base moves it rebuilds the branch on the new base", async () => {
    const { fake, run } = await setup();
    await run(["onboard-cluster", "edge-1", "--pr"]);
    const first = await git(await cloneBranch(fake, BRANCH), ["rev-parse", "HEAD"]);
    const again = JSON.parse((await run(["onboard-cluster", "edge-1", "--pr", "--json"])).stdout);
    expect(again.pr).toMatchObject({ number: 1, outcome: "unchanged" });
    expect(await git(await cloneBranch(fake, BRANCH), ["rev-parse", "HEAD"])).toBe(first);

    const moved = await fake.commitToBranch("main", { "NOTES.md": "a change on main\n" }, "Unrelated change");
    const rebuilt = JSON.parse((await run(["onboard-cluster", "edge-1", "--pr", "--json"])).stdout);
    expect(rebuilt.pr).toMatchObject({ number: 1, outcome: "updated" });
    const clone = await cloneBranch(fake, BRANCH);
    expect(await git(clone, ["rev-parse", "HEAD^"])).toBe(moved);
    expect(await git(clone, ["rev-list", "--count", "origin/main..HEAD"])).toBe("1");
    expect(fake.pulls()).toHaveLength(1);
    expect(fake.validationErrors).toEqual([]);
  });

  it("says so and opens nothing when the cluster is already on the base branch", async () => {
    const { fake, run } = await setup();
    await run(["onboard-cluster", "edge-1", "--pr"]);
    await fake.mergePull(1);
    const result = await run(["onboard-cluster", "edge-1", "--pr"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("cluster edge-1 is already in the fleet");
    expect(fake.pulls()).toHaveLength(1);
  });

  it.each([
    [
      "a rejected token",
      failures.badCredentials("/repos/acme/fleet/commits/main"),
      "the token was rejected (401",
    ],
    [
      "a missing scope",
      failures.missingScope("/repos/{owner}/{repo}/git/trees", "POST"),
      "needed scope: repo",
    ],
    [
      "a network failure",
      { ...failures.networkError("/repos/{owner}/{repo}/git/commits", "POST"), times: 4 }, // octokit tries 4 times
      "no answer",
    ],
    [
      "an exhausted rate limit",
      failures.primaryRateLimit("/repos/{owner}/{repo}/pulls", 3600, "POST"),
      "rate limit exhausted",
    ],
    [
      "a refused ref update",
      { method: "POST", path: "/repos/{owner}/{repo}/git/refs", status: 422 },
      "refused the request (422",
    ],
    [
      "a failed label step",
      { method: "POST", path: "/repos/{owner}/{repo}/issues/{issue_number}/labels", status: 500, times: 4 },
      "labelling the pull request failed",
    ],
  ])(
    "after %s it fails clearly, and a re-run completes with exactly one pull request",
    async (_what, injection, message) => {
      const { fake, run } = await setup();
      fake.inject(injection);
      const failed = await run(["onboard-cluster", "edge-1", "--pr"]);
      expect(failed.code).toBe(4);
      expect(failed.stderr).toContain(message);
      noToken(failed.stdout, failed.stderr);
      const rerun = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(fake.pulls().filter((p) => p.state === "open")).toHaveLength(1);
      expect(fake.pulls()[0]?.labels).toEqual(["promfleet", "onboard"]);
      expect(await git(await cloneBranch(fake, BRANCH), ["rev-list", "--count", "origin/main..HEAD"])).toBe(
        "1",
      );
    },
  );

  it("waits out a short secondary rate limit and goes on", async () => {
    const { fake, run } = await setup();
    fake.inject(failures.secondaryRateLimit("/repos/{owner}/{repo}/git/trees", 403, "POST"));
    const result = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).pr.outcome).toBe("created");
  });

  it("a missing token or a missing repository is a clear error", async () => {
    const { run } = await setup();
    const none = await run(["onboard-cluster", "edge-1", "--pr"], { GITHUB_TOKEN: "", GH_TOKEN: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("set GITHUB_TOKEN (or GH_TOKEN)");
    const missing = await promfleet(
      current!.dir,
      ["onboard-cluster", "edge-1", "--pr", "--repo", "acme/nope"],
      { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: current!.fake.url },
    );
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("not found (404)");
  });

  it("with authentication on, commits only the bcrypt hash and leaves the password outside Git", async () => {
    const secure = await secureFleetRepo();
    await promfleet(secure.dir, ["render"]);
    const { fake, run, dir } = await setup(secure.dir);
    const result = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    const password = await readRepoFile(dir, ".promfleet/credentials/edge-1.password");
    expect(result.stdout + result.stderr).not.toContain(password);
    const clone = await cloneBranch(fake, BRANCH);
    expect(
      parse(await readFile(path.join(clone, "fleet.yaml"), "utf8")).clusters.at(-1).credential.passwordHash,
    ).toMatch(/^\$2/);
    expect(await git(clone, ["grep", "-c", password, "HEAD"]).catch(() => "")).toBe("");
    expect(out.nextSteps[0]).toContain("create secret generic promfleet-credentials");
    expect(fake.pulls()[0]?.body).toContain("create secret generic promfleet-credentials");
    const rerun = JSON.parse((await run(["onboard-cluster", "edge-1", "--pr", "--json"])).stdout);
    expect(rerun.pr.outcome).toBe("unchanged"); // the credential of the open pull request is kept
  });
});

describe("offboard-cluster --pr", () => {
  it("lists every resource that will be deleted and what a person must do", async () => {
    const { fake, run } = await setup();
    const result = await run(["offboard-cluster", "kind", "--pr", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const body = fake.pulls()[0]?.body ?? "";
    for (const r of [
      "PackageInstall tkg-system/prometheus",
      "Secret tkg-system/prometheus-tkg-system-values",
      "ServiceAccount tkg-system/prometheus-tkg-system-sa",
      "ClusterRoleBinding prometheus-tkg-system-cluster-admin",
    ])
      expect(body).toContain(r);
    expect(body).toContain("kubectl --context kind -n tkg-system delete app promfleet-kind");
    const clone = await cloneBranch(fake, "promfleet/offboard-kind");
    expect(await git(clone, ["ls-files", "clusters/kind"])).toBe("");
    expect(
      parse(await readFile(path.join(clone, "fleet.yaml"), "utf8")).clusters.map(
        (c: { name: string }) => c.name,
      ),
    ).toEqual(["orbstack"]);
  });

  it("refuses to offboard the aggregator while agents point at it", async () => {
    const { fake, run } = await setup();
    const result = await run(["offboard-cluster", "orbstack", "--pr"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("refusing to offboard the aggregator orbstack while agents write to it");
    expect(fake.pulls()).toEqual([]);
  });
});
