import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { marked, type Token, type Tokens } from "marked";
import { describe, expect, it } from "vitest";
import { lineStats } from "../src/diff/line-stats.js";
import {
  COMMENT_LIMIT,
  REVIEW_MARKER,
  reviewContext,
  reviewDocuments,
  type ReviewInputs,
} from "../src/github/review.js";
import {
  readInput,
  type DiffResult,
  type RenderResult,
  type ValidationResult,
} from "../src/github/review-inputs.js";
import { builtInTemplate, renderTemplateSource } from "../src/github/templates.js";

/** What a reader sees, as GitHub-flavoured markdown's structure: blocks, table shapes, list lengths, HTML tags. */
function structure(markdown: string): unknown[] {
  return marked
    .lexer(markdown, { gfm: true })
    .filter((t) => t.type !== "space")
    .map((t: Token) => {
      if (t.type === "table") {
        const table = t as Tokens.Table;
        return { table: [table.header.length, ...table.rows.map((r) => r.length)] };
      }
      if (t.type === "list") return { list: (t as Tokens.List).items.length };
      if (t.type === "heading") return { heading: (t as Tokens.Heading).text };
      if (t.type === "html") return { html: t.raw.match(/<\/?[a-z]+/gi) ?? [] };
      return { [t.type]: true };
    });
}

async function comment(inputs: ReviewInputs): Promise<string> {
  const source = await builtInTemplate("review-comment");
  return `${REVIEW_MARKER}\n${await renderTemplateSource(source, reviewContext(inputs))}`;
}

/** A failing review with text `t` in every place a pull request controls. */
function everywhere(t: string): ReviewInputs {
  const render: RenderResult = {
    created: [`clusters/edge-1/${t}.yaml`],
    updated: [`clusters/edge-2/${t}`],
    removed: [],
  };
  const validate: ValidationResult = {
    ok: false,
    clusters: [
      { name: t, checks: [{ check: t, ok: false, file: t, message: t }] },
      { name: "edge-1", checks: [{ check: "promtool", ok: false, file: "x", message: `before ${t} after` }] },
      { name: "edge-2", checks: [{ check: "crds", ok: true, file: "clusters/edge-2/bootstrap/app.yaml" }] },
    ],
  };
  const diff: DiffResult = {
    clusters: [
      { cluster: t, status: "added", changes: [t, `new file ${t}`] },
      // as many lines as the other cluster: the two sort by name, which the text under test changes
      { cluster: "edge-1", status: "changed", changes: [`values: ${t}`, "retention 10d → 20d"] },
    ],
  };
  return {
    render: { data: render },
    validate: { data: validate },
    diff: { data: diff },
    strayFolders: { folders: [t] },
  };
}

const SPOOFS: Record<string, string> = {
  "a fake all-clear after CRLF":
    "x\r\n\r\n### promfleet review ✅\r\n\r\nRendered tree matches the spec.\r\n\r\n",
  "a fake all-clear after a bare CR": "x\r\r### promfleet review ✅\r\r",
  "Unicode line and paragraph separators, NEL, VT, FF":
    "x\u2028\u2028### ok ✅\u2029\u2029- item\u0085\u0085> quote\v\v# h\f\f",
  "an HTML comment hiding the rows after it": "<!-- ",
  "an HTML comment closed later": "--> <!--",
  "a pipe injecting table cells": "a | ok | x | ok |",
  "escaped pipes and backslashes": "a\\| b \\\\| c \\",
  "<details> hiding what follows": "<details><summary>no changes ✅</summary>",
  "closing the comment's own <details>": "</summary></details><details open><summary>x",
  "raw HTML": '<img src=x onerror=alert(1)><script>alert(1)</script><div align="right">',
  "backticks breaking code spans": "`` ` ``` x | y `",
  "a link and an image": "[✅ all good](https://evil.example) ![x](https://evil.example/x.png)",
  "a table row of its own":
    "\n| cluster | check | file | result |\n| --- | --- | --- | --- |\n| a | b | c | ok |",
  "mentions and emphasis": "@admins **bold** _it_ ~~s~~ $x^2$",
  "bidirectional overrides": "clusters/\u202eevil\u202c/\u2066x\u2069",
};

describe("review comment: pull-request text cannot change what the comment shows", () => {
  it.each(Object.entries(SPOOFS))("%s", async (_name, spoof) => {
    const [benign, spoofed] = [await comment(everywhere("plain")), await comment(everywhere(spoof))];
    expect(structure(spoofed)).toEqual(structure(benign));
    const html = await marked.parse(spoofed, { gfm: true });
    expect(html.match(/<!--/g)).toHaveLength(1); // the marker, nothing else
    expect(html.match(/<details>/g)).toHaveLength(2); // one per cluster of the diff
    expect(html).not.toMatch(/<(img|script|div|a)\b/);
    expect(html).toContain("<h3>promfleet review ❌</h3>");
    expect(html.match(/<h\d/g)).toHaveLength(4); // the verdict, clusters, failing checks, changes
    expect(spoofed).not.toMatch(/@admins/);
  });

  it("keeps the text readable: a reader sees the file name, its line ends marked ⏎", async () => {
    const html = await marked.parse(await comment(everywhere("evil\r\nname")), { gfm: true });
    expect(html).toContain("evil⏎name");
    const bidi = await marked.parse(await comment(everywhere("a\u202eb")), { gfm: true });
    expect(bidi).toContain("a[U+202E]b");
    expect(bidi).not.toContain("\u202e");
  });

  it("is ✅ only when every input was read and reports no problem", async () => {
    const clean: ReviewInputs = {
      render: { data: { created: [], updated: [], removed: [] } },
      validate: {
        data: { ok: true, clusters: [{ name: "a", checks: [{ check: "promtool", ok: true, file: "f" }] }] },
      },
      diff: { data: { clusters: [] } },
      strayFolders: { folders: [] },
    };
    expect(reviewContext(clean).ok).toBe(true);
    expect(await comment(clean)).toContain("### promfleet review ✅");
    for (const broken of [
      { render: { problem: "render.json is empty" } },
      { validate: { problem: "validate.json does not exist" } },
      { diff: { problem: "not given" } },
      { strayFolders: { problem: "fleet.yaml does not exist" } },
      { strayFolders: { folders: ["stray"] } },
      { validate: { data: { ok: false, clusters: [] } } },
      { diff: { data: { error: "bad spec" } } },
    ] as Array<Partial<ReviewInputs>>) {
      const body = await comment({ ...clean, ...broken });
      expect(body, JSON.stringify(broken)).toContain("### promfleet review ❌");
      expect(body).not.toContain("✅");
    }
  });
});

describe("review inputs are untrusted files", () => {
  async function file(content: string | undefined): Promise<string> {
    const f = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-review-input-")), "in.json");
    if (content !== undefined) await writeFile(f, content);
    return f;
  }

  it("reports a missing, empty, non-JSON or foreign file as a problem naming it", async () => {
    const missing = await file(undefined);
    expect(await readInput("render", missing)).toEqual({ problem: `${missing} does not exist` });
    const empty = await file("  \n");
    expect(await readInput("render", empty)).toEqual({
      problem: `${empty} is empty (the step that writes it failed)`,
    });
    expect(await readInput("render", undefined)).toEqual({ problem: "not given" });
    const notJson = await file("{");
    expect(await readInput("validate", notJson)).toEqual({ problem: `${notJson} is not JSON` });
    const foreign = await file(JSON.stringify({ clusters: [{ name: 1, checks: [] }] }));
    expect(await readInput("validate", foreign)).toEqual({
      problem: `${foreign} is not validate output (/clusters/0/name must be string)`,
    });
    const wrongStatus = await file(
      JSON.stringify({ clusters: [{ cluster: "a", status: "gone", changes: [] }] }),
    );
    expect("problem" in (await readInput("diff", wrongStatus))).toBe(true);
  });

  it("accepts what the commands print, including their error shape", async () => {
    const ok = await file(
      JSON.stringify({ clusters: 1, created: [], updated: ["a"], removed: [], written: false }),
    );
    expect(await readInput("render", ok)).toMatchObject({ data: { updated: ["a"] } });
    const error = await file(JSON.stringify({ error: "fleet.yaml: bad", problems: [] }));
    expect(await readInput("diff", error)).toEqual({ data: { error: "fleet.yaml: bad", problems: [] } });
  });

  it("names the missing input in the comment", async () => {
    const missing = await file(undefined);
    const body = await comment({
      render: await readInput("render", missing),
      validate: { data: { ok: true, clusters: [] } },
      diff: { data: { clusters: [] } },
      strayFolders: { folders: [] },
    });
    expect(body).toContain("### promfleet review ❌");
    const html = await marked.parse(body, { gfm: true });
    expect(html).toContain(`❌ render: ${missing} does not exist`);
    expect(body).not.toContain("Rendered tree matches the spec.");
  });
});

describe("the comment within GitHub's limit", () => {
  /** `count` changed clusters, each with a 2-line values.yaml resource and a 3-line App resource. */
  function bigReview(count: number): ReviewInputs {
    const names = Array.from({ length: count }, (_, i) => `edge-${String(i).padStart(4, "0")}`);
    const app = "manifests/app.yaml: App prometheus";
    const changes = [
      "retention 10d → 20d (--storage.agent.retention.max-time)",
      "container arg --enable-feature=x added",
      `${app} source: https://example.com/a.git → https://example.com/b.git`,
      `${app} spec.syncPeriod: 1m → 2m`,
      `${app} spec.cluster.namespace: a → b`,
    ];
    return {
      render: { data: { created: [], updated: ["clusters/edge-0500/values.yaml"], removed: [] } },
      validate: {
        data: {
          ok: false,
          clusters: names.map((name) => ({
            name,
            checks: [{ check: "promtool", ok: name !== "edge-0900", file: `clusters/${name}/values.yaml` }],
          })),
        },
      },
      diff: {
        data: {
          clusters: names.map((cluster) => ({ cluster, status: "changed", changes, added: 5, removed: 4 })),
        },
      },
      strayFolders: { folders: [] },
    };
  }

  it("is cut between resources, never inside one, worst clusters first, and says what was cut", async () => {
    const source = await builtInTemplate("review-comment");
    const url = "https://github.com/acme/fleet/actions/runs/7";
    const { comment: body, report } = await reviewDocuments(
      bigReview(1000),
      (c) => renderTemplateSource(source, c),
      url,
    );
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body.length).toBeGreaterThan(COMMENT_LIMIT - 2000);
    const blocks = body.split("<details>").slice(1);
    const items = blocks.map((b) => (b.match(/^- /gm) ?? []).length);
    // the first blocks whole (5 lines), then at most one cut after its values.yaml (2 lines + the "… more" line)
    const whole = items.filter((n) => n === 5).length;
    expect(items.slice(0, whole).every((n) => n === 5)).toBe(true);
    expect(items.slice(whole)).toEqual(items.length > whole ? [3] : []);
    expect(blocks[0]).toMatch(/^<summary>edge-0900: changed \+5 −4<\/summary>/);
    expect(blocks[1]).toMatch(/^<summary>edge-0500: changed/);
    expect(blocks[2]).toMatch(/^<summary>edge-0000: changed/);
    const resourcesShown = whole * 2 + (items.length > whole ? 1 : 0);
    expect(body.trimEnd().split("\n").at(-1)).toBe(
      `**Cut to fit GitHub's comment limit:** the changes of ${2000 - resourcesShown} resources in ${1000 - whole} clusters are not shown. The full report is in the job summary and the artifact of [this run](${url}).`,
    );
    expect(report.split("<details>")).toHaveLength(1001);
    expect(report).not.toContain("Cut to fit");
  });

  it("never calls clusters unchanged when the diff is missing or failed", async () => {
    const validate: ValidationResult = {
      ok: true,
      clusters: ["a", "b", "c"].map((name) => ({
        name,
        checks: [{ check: "promtool", ok: true, file: `clusters/${name}/values.yaml` }],
      })),
    };
    const base = {
      render: { data: { created: [], updated: [], removed: [] } },
      validate: { data: validate },
      strayFolders: { folders: [] },
    };
    for (const diff of [{ problem: "diff.json is empty" }, { data: { error: "fleet.yaml: bad" } }]) {
      const body = await comment({
        ...base,
        render: { data: { created: [], updated: [], removed: [] } },
        diff,
      });
      expect(body).toContain("3 clusters pass validation; what changes on them is not known.");
      expect(body).not.toContain("do not change");
    }
    const known = await comment({ ...base, diff: { data: { clusters: [] } } });
    expect(known).toContain("3 clusters pass and do not change.");
  });

  it("says how many clusters a changed-only validation left out, and trusts only an integer count", async () => {
    const validated = (changedSince: unknown): ReviewInputs => ({
      render: { data: { created: [], updated: [], removed: [] } },
      validate: {
        data: {
          ok: true,
          clusters: [
            { name: "a", checks: [{ check: "promtool", ok: true, file: "clusters/a/values.yaml" }] },
          ],
          changedSince,
        } as ValidationResult,
      },
      diff: { data: { clusters: [] } },
      strayFolders: { folders: [] },
    });
    const left = "were not validated here";
    expect(await comment(validated({ all: false, unchanged: 999 }))).toContain(
      `999 clusters this pull request does not change ${left}`,
    );
    expect(await comment(validated({ all: true, unchanged: 999 }))).not.toContain(left);
    expect(await comment(validated(undefined))).not.toContain(left);
    expect(await comment(validated({ all: false, unchanged: "<b>9</b>" }))).not.toContain(left);
    expect(await comment(validated({ all: false, unchanged: 1.5 }))).not.toContain(left);
  });

  it("counts added and removed lines as a line diff does", () => {
    expect(lineStats(["a", "b", "c"], ["a", "x", "c", "d"])).toEqual({ added: 2, removed: 1 });
    expect(lineStats(["a", "b"], ["a", "b"])).toEqual({ added: 0, removed: 0 });
    expect(lineStats([], ["a", "b"])).toEqual({ added: 2, removed: 0 });
    expect(lineStats(["a", "b", "a"], ["b", "a", "b"])).toEqual({ added: 1, removed: 1 });
  });
});
