import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exampleFleetRepo, promfleet, readRepoFile } from "./helpers/fleet-repo.js";
import { cloneBranch, git, githubFleet, type GitHubFleet } from "./helpers/github.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

async function commitAll(dir: string, message: string): Promise<void> {
  await execa("git", ["-C", dir, "add", "-A"]);
  await execa("git", [
    "-C",
    dir,
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.com",
    "commit",
    "-qm",
    message,
  ]);
}

describe("offboard-cluster in the working tree", () => {
  it.each([["offboard-cluster"], ["onboard-cluster"]])(
    "%s where there is no fleet exits 2 naming the missing spec, and creates nothing",
    async (command) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-empty-"));
      const result = await promfleet(dir, [command, "edge-1"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`there is no fleet spec at ${path.join(dir, "fleet.yaml")}`);
      expect(result.stderr).toContain("run 'promfleet init'");
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it("a name the fleet never had exits 2 with the nearest name, and writes nothing", async () => {
    const dir = await exampleFleetRepo();
    await promfleet(dir, ["render"]);
    const spec = await readRepoFile(dir, "fleet.yaml");
    const result = await promfleet(dir, ["offboard-cluster", "kidn"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: no such cluster kidn in fleet.yaml");
    expect(result.stderr).toContain("did you mean kind? The fleet has: orbstack, kind");
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await readRepoFile(dir, "fleet.yaml")).toBe(spec);
    expect(existsSync(path.join(dir, "clusters/kind/values.yaml"))).toBe(true);
  });

  it("removes the folder and the local password file; a re-run after the commit is already done", async () => {
    const secure = await secureFleetRepo();
    const { dir } = secure;
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    const password = ".promfleet/credentials/edge-1.password";
    expect(existsSync(path.join(dir, password))).toBe(true);
    await execa("git", ["-C", dir, "init", "-q"]);
    await commitAll(dir, "fleet with edge-1");

    const result = await promfleet(dir, ["offboard-cluster", "edge-1"]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(dir, password))).toBe(false);
    expect(existsSync(path.join(dir, "clusters/edge-1"))).toBe(false);
    expect(result.stdout).toContain("removed   clusters/edge-1/values.yaml");
    expect(result.stdout).toContain("modified  fleet.yaml");
    const names = parse(await readRepoFile(dir, "fleet.yaml")).clusters.map((c: { name: string }) => c.name);
    expect(names).toEqual(["orbstack", "kind"]);
    await commitAll(dir, "offboard edge-1");

    const again = await promfleet(dir, ["offboard-cluster", "edge-1"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(
      "already done: cluster edge-1 is not in the fleet (fleet.yaml): the history of fleet.yaml shows it was offboarded; nothing to do",
    );
    const typo = await promfleet(dir, ["offboard-cluster", "edge-2"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("did you mean kind?"); // edge-1 is gone, so not suggested
  });
});

describe("offboard-cluster --pr", () => {
  let current: GitHubFleet | undefined;
  afterEach(async () => {
    await current?.fake.close();
    current = undefined;
  });

  it("lists removed files as removed and the spec as modified; re-runs are already done, a typo is exit 2", async () => {
    current = await githubFleet();
    const { fake, run } = current;
    const first = await run(["offboard-cluster", "kind", "--pr"]);
    expect(first.code, first.stderr).toBe(0);
    const body = fake.pulls()[0]?.body ?? "";
    const section = (title: string) => body.split(`### ${title}\n`)[1]?.split("\n###")[0] ?? "";
    expect(section("Files removed from the repository")).toContain("`clusters/kind/values.yaml`");
    expect(section("Files removed from the repository")).not.toContain("fleet.yaml");
    expect(section("Files modified")).toContain("`fleet.yaml`");

    const open = await run(["offboard-cluster", "kind", "--pr"]);
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toMatch(/^already done: pull request #1 is open and up to date/);

    await fake.mergePull(1);
    const merged = await run(["offboard-cluster", "kind", "--pr"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain("already done: cluster kind is not in the fleet (fleet.yaml)");
    expect(merged.stdout).toContain("its offboarding pull request (promfleet/offboard-kind) was merged");

    const typo = await run(["offboard-cluster", "knid", "--pr"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("no such cluster knid in fleet.yaml");
    expect(fake.pulls()).toHaveLength(1);
    const clone = await cloneBranch(fake, "main");
    expect(await git(clone, ["ls-files", "clusters/kind"])).toBe("");
    expect(parse(await readFile(path.join(clone, "fleet.yaml"), "utf8")).clusters).toHaveLength(1);
    expect(fake.validationErrors).toEqual([]);
  }, 120_000);
});
