/**
 * A pull request that breaks fleet.yaml, and results the review job failed to write: the sticky comment
 * turns ❌ naming the problem, never stays a stale ✅, and pr-comment never crashes.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { marked } from "marked";
import { afterEach, describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet } from "./helpers/fleet-repo.js";
import { openFeaturePull, TOKEN } from "./helpers/github.js";
import { git, prCommentEnv, resultFlags, reviewResults } from "./helpers/review-results.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github/index.js";

let fake: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** The example fleet rendered on main, on the fake GitHub too, and pull request #1 from `feature`. */
async function fleetWithPullRequest(): Promise<{ dir: string; fake: FakeGitHub }> {
  const dir = await exampleFleetRepo();
  await git(dir, ["init", "-q", "-b", "main"]);
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  await git(dir, ["add", "-A"]);
  await git(dir, ["commit", "-qm", "fleet"]);
  fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: dir });
  await git(dir, ["checkout", "-q", "-b", "feature"]);
  await fake.commitToBranch("feature", { "README.md": "a harmless change\n" }, "docs");
  await openFeaturePull(fake);
  return { dir, fake };
}

async function prComment(github: FakeGitHub, args: string[]) {
  const checkout = await mkdtemp(path.join(os.tmpdir(), "promfleet-broken-checkout-"));
  return promfleet(checkout, ["pr-comment", "--pr", "1", "--json", ...args], prCommentEnv(github.url, TOKEN));
}

const shown = (body: string) => marked.parse(body, { gfm: true, async: false });

describe("a pull request that breaks fleet.yaml", { timeout: 300_000 }, () => {
  it("turns the earlier ✅ comment into ❌ naming the file, the field and the fix", async () => {
    const { dir, fake } = await fleetWithPullRequest();
    const passing = await prComment(fake, resultFlags(await reviewResults(dir)));
    expect(passing.code, passing.stderr).toBe(0);
    expect(JSON.parse(passing.stdout)).toMatchObject({ outcome: "created", ok: true });
    expect(fake.comments(1)[0]?.body).toContain("### promfleet review ✅");

    const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    const broken = spec.replace("kind: Fleet\n", "kind: Fleet\nretension: 30d\n");
    await writeFile(path.join(dir, "fleet.yaml"), broken);
    await fake.commitToBranch("feature", { "fleet.yaml": broken }, "break the spec");
    const results = await reviewResults(dir);
    for (const file of Object.values(results))
      expect(JSON.parse(await readFile(file, "utf8")), file).toMatchObject({
        error: expect.stringContaining("fleet.yaml"),
        problems: [{ file: "fleet.yaml", path: "retension", message: 'unknown key "retension"' }],
      });

    const failing = await prComment(fake, resultFlags(results));
    expect(failing.code, failing.stderr).toBe(0);
    expect(JSON.parse(failing.stdout)).toMatchObject({ outcome: "updated", ok: false });
    const comments = fake.comments(1);
    expect(comments).toHaveLength(1);
    const html = shown(comments[0]?.body ?? "");
    expect(html).toContain("<h3>promfleet review ❌</h3>");
    expect(html).not.toContain("✅");
    expect(html).toContain("The fleet spec does not render:</strong> fleet.yaml: 1 problem");
    expect(html).toMatch(/❌ fleet\.yaml:\d+ retension: unknown key &quot;retension&quot; \(fix: /);
    expect(html).toContain("❌ validate: fleet.yaml: 1 problem");
    expect(html).toContain("❌ diff: fleet.yaml: 1 problem");
    expect(fake.validationErrors).toEqual([]);
  });
});

describe("results the review job did not write", { timeout: 300_000 }, () => {
  it("an empty or garbage file is a ❌ comment naming it and a failed job, never a crash", async () => {
    const { dir, fake } = await fleetWithPullRequest();
    const results = await reviewResults(dir);
    expect((await prComment(fake, resultFlags(results))).code).toBe(0);
    await writeFile(results.render, "");
    await writeFile(results.diff, "\u0000garbage{");

    const run = await prComment(fake, resultFlags(results));
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).not.toMatch(/unexpected error|bug/);
    expect(JSON.parse(run.stdout)).toMatchObject({ outcome: "updated", ok: false });
    const html = shown(fake.comments(1)[0]?.body ?? "");
    expect(html).toContain("<h3>promfleet review ❌</h3>");
    expect(html).toContain(`❌ render: ${results.render} is empty (the step that writes it failed)`);
    expect(html).toContain(`❌ diff: ${results.diff} is not JSON`);
    expect(html).not.toContain("Rendered tree matches the spec.");
    expect(html).not.toContain("✅");
  });
});
