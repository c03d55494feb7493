import { readFile } from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { failures } from "./support/fake-github/index.js";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
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
    const grep = await execa("git", ["-C", clone, "grep", "-c", "-F", password, "HEAD"], { reject: false });
    expect(grep.exitCode, grep.stderr).toBe(1); // git grep: 1 is "no match"; 0 a match, 128 an error
    expect(grep.stdout).toBe("");
    expect(out.nextSteps[0]).toContain("create secret generic promfleet-credentials");
    expect(fake.pulls()[0]?.body).toContain("create secret generic promfleet-credentials");
    const rerun = JSON.parse((await run(["onboard-cluster", "edge-1", "--pr", "--json"])).stdout);
    expect(rerun.pr.outcome).toBe("unchanged"); // the credential of the open pull request is kept
  });
});

describe("onboard-cluster --pr re-run: the branch's credential is adopted only from promfleet's own commit", () => {
  async function hashOnBranch(fake: GitHubFleet["fake"]): Promise<string> {
    const clone = await cloneBranch(fake, BRANCH);
    return parse(await readFile(path.join(clone, "fleet.yaml"), "utf8")).clusters.at(-1).credential
      .passwordHash;
  }

  it("keeps the hash matching this machine's password when the base moved; replaces a planted one and says why", async () => {
    const secure = await secureFleetRepo();
    await promfleet(secure.dir, ["render"]);
    const { fake, run, dir } = await setup(secure.dir);
    expect((await run(["onboard-cluster", "edge-1", "--pr"])).code).toBe(0);
    const minted = await hashOnBranch(fake);
    await fake.commitToBranch("main", { "NOTES.md": "a change on main\n" }, "Unrelated change");
    const rebuilt = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
    expect(JSON.parse(rebuilt.stdout).pr.outcome).toBe("updated");
    expect(await hashOnBranch(fake)).toBe(minted); // verified against .promfleet/credentials/edge-1.password

    const planted = bcrypt.hashSync("known-to-the-collaborator", 4);
    const spec = await readFile(path.join(await cloneBranch(fake, BRANCH), "fleet.yaml"), "utf8");
    await fake.commitToBranch(BRANCH, { "fleet.yaml": spec.replace(minted, planted) }, "Small fix");
    const rerun = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).pr.outcome).toBe("updated");
    expect(rerun.stderr).toContain(
      "is not the commit promfleet made for it, and its credential matches no password on this machine: minted a new credential for edge-1",
    );
    const hash = await hashOnBranch(fake);
    expect(hash).not.toBe(planted);
    expect(hash).not.toBe(minted);
    expect(bcrypt.compareSync(await readRepoFile(dir, ".promfleet/credentials/edge-1.password"), hash)).toBe(
      true,
    );
    const clone = await cloneBranch(fake, BRANCH);
    expect(await git(clone, ["log", "--format=%an", "origin/main..HEAD"])).toBe("promfleet"); // one commit, ours
    expect(fake.validationErrors).toEqual([]);
  }, 180_000);

  it("with SOPS, the credential survives a base move; a planted hash and encrypted credential are both replaced", async () => {
    const secure = await secureFleetRepo({ sops: true });
    await promfleet(secure.dir, ["render"]);
    const { fake, run } = await setup(secure.dir);
    expect((await run(["onboard-cluster", "edge-1", "--pr"])).code).toBe(0);
    const minted = await hashOnBranch(fake);
    const rerunUnchanged = JSON.parse((await run(["onboard-cluster", "edge-1", "--pr", "--json"])).stdout);
    expect(rerunUnchanged.pr.outcome).toBe("unchanged"); // promfleet's own commit: credential kept
    await fake.commitToBranch("main", { "NOTES.md": "a change on main\n" }, "Unrelated change");
    const rebuilt = await run(["onboard-cluster", "edge-1", "--pr", "--json"]);
    expect(JSON.parse(rebuilt.stdout).pr.outcome).toBe("updated");
    expect(rebuilt.stderr).not.toContain("minted");
    expect(await hashOnBranch(fake)).toBe(minted); // promfleet's commit on the earlier base: kept

    const planted = bcrypt.hashSync("known-to-the-collaborator", 4);
    const clone = await cloneBranch(fake, BRANCH);
    const spec = await readFile(path.join(clone, "fleet.yaml"), "utf8");
    const sopsFile = "clusters/edge-1/manifests/credentials.sops.yaml";
    const plantedSops = "# planted: an encrypted secret the collaborator can decrypt\n";
    await fake.commitToBranch(
      BRANCH,
      { "fleet.yaml": spec.replace(minted, planted), [sopsFile]: plantedSops },
      "fix",
    );
    const rerun = await run(["onboard-cluster", "edge-1", "--pr"]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain("minted a new credential for edge-1");
    const after = await cloneBranch(fake, BRANCH);
    expect([minted, planted]).not.toContain(await hashOnBranch(fake));
    const encrypted = await readFile(path.join(after, sopsFile), "utf8");
    expect(encrypted).not.toBe(plantedSops);
    expect(encrypted).toContain("sops:");
  }, 180_000);
});

describe("onboard-cluster: what a new user hits", () => {
  it("--dry-run counts the spec lines it would add and prints no command for a credential it did not write", async () => {
    const secure = await secureFleetRepo();
    await promfleet(secure.dir, ["render"]);
    const spec = await readRepoFile(secure.dir, "fleet.yaml");
    const result = await promfleet(secure.dir, ["onboard-cluster", "edge-1", "--dry-run"]);
    expect(result.code, result.stderr).toBe(0);
    // - name: edge-1 / role: agent / credential: / passwordHash: …
    expect(result.stderr).toContain("dry run: nothing written; fleet spec: +4 -0 lines");
    expect(result.stdout + result.stderr).not.toContain("kubectl");
    expect(await readRepoFile(secure.dir, "fleet.yaml")).toBe(spec);
    await expect(readRepoFile(secure.dir, ".promfleet/credentials/edge-1.password")).rejects.toThrow(
      /ENOENT/,
    );
  });

  it("an existing cluster with other --set values, or the aggregator's name, is exit 2 and writes nothing", async () => {
    const dir = await exampleFleetRepo();
    await promfleet(dir, ["render"]);
    const spec = await readRepoFile(dir, "fleet.yaml");
    const existing = await promfleet(dir, ["onboard-cluster", "kind", "--set", "prometheus.pvc.storage=2Gi"]);
    expect(existing.code).toBe(2);
    expect(existing.stderr).toContain(
      "cluster kind is already in the fleet; onboard-cluster does not change it",
    );
    expect(existing.stderr).toContain("fix: edit clusters[1].overlays / clusters[1].values in fleet.yaml");
    const aggregator = await promfleet(dir, ["onboard-cluster", "orbstack"]);
    expect(aggregator.code).toBe(2);
    expect(aggregator.stderr).toContain("orbstack is already the fleet's aggregator");
    const again = await promfleet(dir, ["onboard-cluster", "kind"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already done: cluster kind is already in the fleet");
    expect(await readRepoFile(dir, "fleet.yaml")).toBe(spec);
  });

  it("--pr carries an --overlay file that only the working tree has into the pull request", async () => {
    const { fake, run, dir } = await setup();
    const overlay = "overlays/clusters/edge-1.yaml";
    const text = [
      '#@ load("@ytt:overlay", "overlay")',
      "#@ def overlay_for(cluster):",
      "prometheus:",
      "  config:",
      "    prometheus_yml:",
      "      global:",
      "        scrape_interval: 17s",
      "#@ end",
      "",
    ].join("\n");
    await writeRepoFile(dir, overlay, text); // after the fake was seeded: not on the base branch
    const result = await run(["onboard-cluster", "edge-1", "--overlay", overlay, "--pr"]);
    expect(result.code, result.stderr).toBe(0);
    const clone = await cloneBranch(fake, BRANCH);
    expect(await git(clone, ["show", "--name-status", "--format=", "HEAD"])).toContain(`A\t${overlay}`);
    expect(await readFile(path.join(clone, overlay), "utf8")).toBe(text);
    expect(await readFile(path.join(clone, "clusters/edge-1/values.yaml"), "utf8")).toContain(
      "scrape_interval: 17s",
    );
    expect(fake.pulls()[0]?.body).toContain(`- added \`${overlay}\``);
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
