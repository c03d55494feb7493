/**
 * The review comment at fleet scale: a fleet-wide overlay change on a generated 1,000-cluster fleet, with
 * results from one run of each review command (real ytt, promtool, git) posted by pr-comment to the
 * fake GitHub.
 */
import { appendFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { marked, type Tokens } from "marked";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, writeRepoFile } from "./helpers/fleet-repo.js";
import { openFeaturePull, TOKEN } from "./helpers/github.js";
import {
  git,
  prCommentEnv,
  resultFlags,
  reviewResults,
  type ReviewResults,
} from "./helpers/review-results.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github/index.js";

const CLUSTERS = 1000;
const RUN_URL = "https://github.com/acme/fleet/actions/runs/4242";
/** GitHub's limit on a comment body, in characters. */
const GITHUB_COMMENT_LIMIT = 65_536;
const STEP_SUMMARY_LIMIT = 1024 * 1024;
/** The cluster whose committed files someone edited by hand: the one drifting cluster. */
const DRIFTING = "agent-0500";

/** The example fleet with agents added up to CLUSTERS, rendered and committed on main. */
async function generatedFleet(): Promise<string> {
  const dir = await exampleFleetRepo();
  const agents = Array.from(
    { length: CLUSTERS - 2 },
    (_, i) => `  - name: agent-${String(i).padStart(4, "0")}\n    role: agent\n`,
  );
  await appendFile(path.join(dir, "fleet.yaml"), agents.join(""));
  await git(dir, ["init", "-q", "-b", "main"]);
  const rendered = await promfleet(dir, ["render"]);
  expect(rendered.code, rendered.stderr).toBe(0);
  await git(dir, ["add", "-A"]);
  await git(dir, ["commit", "-qm", "fleet"]);
  return dir;
}

let fake: FakeGitHub;
let results: ReviewResults;
let diffCount: { clusters: number; changes: number };

beforeAll(async () => {
  const dir = await generatedFleet();
  const base = path.join(dir, "overlays", "base", "values.yaml");
  const overlay = (await readFile(base, "utf8")).replace("scrape_interval: 1m", "scrape_interval: 30s");
  await writeFile(base, overlay);
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  await appendFile(path.join(dir, "clusters", DRIFTING, "values.yaml"), "# edited by hand\n");
  results = await reviewResults(dir);
  const diff = JSON.parse(await readFile(results.diff, "utf8")) as {
    clusters: Array<{ changes: string[] }>;
  };
  diffCount = {
    clusters: diff.clusters.length,
    changes: diff.clusters.reduce((n, c) => n + c.changes.length, 0),
  };

  const seed = await mkdtemp(path.join(os.tmpdir(), "promfleet-scale-seed-"));
  await writeRepoFile(seed, "fleet.yaml", await readFile(path.join(dir, "fleet.yaml"), "utf8"));
  fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: seed });
  await fake.commitToBranch("feature", { "overlays/base/values.yaml": overlay }, "scrape every 30s");
  await openFeaturePull(fake);
}, 900_000);

afterAll(async () => fake?.close());

/** pr-comment as the review-comment action runs it, in an empty checkout. */
async function prComment(args: string[]) {
  const checkout = await mkdtemp(path.join(os.tmpdir(), "promfleet-scale-checkout-"));
  return promfleet(checkout, ["pr-comment", "--pr", "1", "--json", ...args], {
    ...prCommentEnv(fake.url, TOKEN),
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4242",
  });
}

const blocks = (markdown: string) => marked.lexer(markdown, { gfm: true }).filter((t) => t.type !== "space");

/** Every `<details>` closed, and every code fence. */
function expectClosed(markdown: string): void {
  const html = marked.parse(markdown, { gfm: true, async: false });
  expect(html.match(/<details>/g)?.length).toBe(html.match(/<\/details>/g)?.length);
  expect((markdown.match(/^\s*(```|~~~)/gm) ?? []).length % 2).toBe(0);
}

describe("review comment for a fleet-wide change on 1,000 clusters", { timeout: 600_000 }, () => {
  it("fits GitHub's limit: status table first, worst first, whole resources, a line saying what was cut", async () => {
    expect(diffCount.clusters).toBe(CLUSTERS);
    const out = await mkdtemp(path.join(os.tmpdir(), "promfleet-scale-out-"));
    const [summaryFile, reportFile] = [path.join(out, "summary.md"), path.join(out, "report.md")];
    const run = await prComment([
      ...resultFlags(results),
      ...["--summary", summaryFile, "--report", reportFile],
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ outcome: "created", ok: false });
    const comments = fake.comments(1);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? "";

    expect([...body].length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT / 2); // filled, not emptied
    expectClosed(body);
    const tokens = blocks(body);
    expect(tokens.slice(0, 4).map((t) => t.type)).toEqual(["html", "heading", "paragraph", "list"]);
    const tableIndex = tokens.findIndex((t) => t.type === "table");
    expect(tokens[tableIndex - 1]).toMatchObject({ type: "heading", text: "Clusters" });
    expect(tokens.findIndex((t) => t.raw.startsWith("<details>"))).toBeGreaterThan(tableIndex);
    const table = tokens[tableIndex] as Tokens.Table;
    expect(table.header.map((h) => h.text)).toEqual(["cluster", "validation", "drift", "change", "+", "−"]);
    expect(table.rows[0]?.map((c) => c.text)).toEqual([
      `\`${DRIFTING}\``,
      "ok",
      "❌ 1 files",
      "changed",
      "+3",
      "−2",
    ]);
    expect(table.rows[1]?.map((c) => c.text)).toEqual(["`agent-0000`", "ok", "—", "changed", "+2", "−2"]);
    expect(table.rows).toHaveLength(100);
    expect(body).toContain(`${CLUSTERS - 100} more clusters not shown.`);

    // Resources are whole: each shown cluster's lines are the diff's, in order; the rest are counted.
    const shownLines = tokens
      .filter((t): t is Tokens.List => t.type === "list")
      .slice(1) // the out-of-date files, then the changes
      .flatMap((l) => l.items.map((i) => i.text))
      .filter((text) => !text.startsWith("…"));
    const lastLine = body.trimEnd().split("\n").at(-1) ?? "";
    const cut =
      /the changes of (\d+) resources in (\d+) clusters are not shown\. The full report is in the job summary and the artifact of \[this run\]\((.*)\)\.$/.exec(
        lastLine,
      );
    expect(cut, lastLine).not.toBeNull();
    const [resourcesCut, clustersCut, url] = [Number(cut?.[1]), Number(cut?.[2]), cut?.[3]];
    expect(url).toBe(RUN_URL);
    // Every change line of this diff is a resource of its own (values.yaml, then values-secret.yaml).
    expect(shownLines.length + resourcesCut).toBe(diffCount.changes);
    const shownDetails = (body.match(/<details>/g) ?? []).length;
    expect(clustersCut).toBeGreaterThanOrEqual(CLUSTERS - shownDetails);
    expect(clustersCut).toBeLessThanOrEqual(CLUSTERS - shownDetails + 1);

    // The job summary holds everything within its 1 MiB; the report file is complete.
    const [summary, report] = [await readFile(summaryFile, "utf8"), await readFile(reportFile, "utf8")];
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(STEP_SUMMARY_LIMIT);
    for (const document of [summary, report]) {
      expectClosed(document);
      expect((document.match(/<details>/g) ?? []).length).toBe(CLUSTERS);
      expect(document).not.toContain("Cut to fit");
      const full = blocks(document).find((t): t is Tokens.Table => t.type === "table");
      expect(full?.rows).toHaveLength(CLUSTERS);
    }
    expect(fake.validationErrors).toEqual([]);
  });
});
