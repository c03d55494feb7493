/**
 * diff compares two values.yaml texts by parsing only the blocks that differ (src/diff/unchanged-blocks.ts).
 * Differential test: on thousands of generated pairs, edited at every depth of values.yaml and of its
 * embedded prometheus.yml (values changed, keys added, removed, renamed, duplicated or re-indented, list
 * items, comments, anchors, tags, dotted keys, tabs, broken YAML), sometimes with the same edit on both
 * sides, the answer is exactly that of parsing and comparing both texts in full.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { seededRandom } from "./helpers/random.js";
import { UNCHANGED } from "../src/diff/unchanged-blocks.js";
import { cutSharedValues, diffValuesInFull, diffValuesText } from "../src/diff/values-diff.js";

const root = path.resolve(import.meta.dirname, "..");
const rendered = ["kind", "orbstack"].map((c) =>
  readFileSync(path.join(root, "clusters", c, "values.yaml"), "utf8"),
);

/** Generated pairs per run (each is parsed in full too: about 5 ms on this machine). */
const VARIANTS = 2000;

/** Lines an edit writes, at a given indentation: plain changes, and everything the cut must not misread. */
const LINES = (pad: string): string[][] => [
  [`${pad}scrape_interval: 45s`],
  [`${pad}new_key: value`],
  [`${pad}- item`],
  [`${pad}- job_name: extra`, `${pad}  static_configs: [{targets: [a:1]}]`],
  [`${pad}external_labels: {cluster: x, region: eu}`],
  [`${pad}storage: 2Gi`],
  [`${pad}- --storage.agent.retention.max-time=10m`],
  [`${pad}nested:`, `${pad}  a: 1`, `${pad}  b:`, `${pad}    c: [x, y]`],
  [`${pad}key: |`, `${pad}  literal text`, `${pad}  more`],
  [`${pad}# a comment`],
  [""],
  [`${pad}a.b: dotted`],
  [`${pad}k: {a.b: 1}`],
  [`${pad}anchored: &x {a: 1}`],
  [`${pad}aliased: *x`],
  [`${pad}tagged: !!str 5`],
  [`${pad}<<: {merged: 1}`],
  [`${pad}quoted: "two`, `${pad}  lines"`],
  [`${pad}flow: [a,`, `${pad}  b]`],
  [`${pad}\ttab: 1`],
  [`${pad}~: null key`],
  [`${pad}"quoted key": 1`],
  [`${pad}global:`, `${pad}  scrape_interval: 1m`],
  ["---"],
  [`${pad}bad: [unclosed`],
  [`${pad}bad: a: b`],
];

const SCALARS = [
  "45s",
  "1m",
  "2",
  "true",
  "null",
  "x y",
  '"quoted"',
  "'single'",
  "a.b.c",
  "[1, 2]",
  "{}",
  "|",
];

/** One random edit of a text's lines, anywhere, or in the embedded prometheus.yml twice as often. */
function edit(lines: string[], rnd: () => number): string[] {
  const pick = (n: number) => Math.floor(rnd() * n);
  const embeddedFrom = lines.findIndex((l) => l.endsWith("prometheus_yml: |")) + 1;
  const i =
    embeddedFrom > 0 && rnd() < 0.66 ? embeddedFrom + pick(lines.length - embeddedFrom) : pick(lines.length);
  const line = lines[i] ?? "";
  const depth = line.length - line.trimStart().length;
  const shift = [0, 0, 0, 2, -2][pick(5)] as number;
  const pad = " ".repeat(Math.max(0, depth + shift));
  const out = [...lines];
  switch (pick(7)) {
    case 0: {
      const colon = line.indexOf(": ");
      out[i] = colon > 0 ? `${line.slice(0, colon + 2)}${SCALARS[pick(SCALARS.length)]}` : `${line}x`;
      break;
    }
    case 1:
      out.splice(i, 1);
      break;
    case 2:
      out.splice(i, 0, line);
      break;
    case 3:
      out.splice(i, 1, `${pad}${line.trimStart()}`);
      break;
    case 4: {
      const options = LINES(pad);
      out.splice(i, 0, ...(options[pick(options.length)] as string[]));
      break;
    }
    case 5:
      out.splice(i, 2, ...[lines[i + 1], line].filter((l): l is string => l !== undefined));
      break;
    default: {
      // a whole block: the line and the lines indented more below it
      let end = i + 1;
      while (
        end < lines.length &&
        ((lines[end] as string).length - (lines[end] as string).trimStart().length > depth ||
          lines[end] === "")
      )
        end++;
      out.splice(i, end - i);
    }
  }
  return out;
}

function edited(text: string, count: number, rnd: () => number): string {
  let lines = text.split("\n");
  for (let k = 0; k < count; k++) lines = edit(lines, rnd);
  return lines.join("\n");
}

/** Pairs sharing most of their text: a common ancestor edited alike, then each side on its own. */
function variants(count: number, seed: number): Array<[string, string]> {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, (_, n) => {
    const shared = edited(rendered[n % rendered.length] as string, Math.floor(rnd() * 3), rnd);
    return [edited(shared, Math.floor(rnd() * 3), rnd), edited(shared, 1 + Math.floor(rnd() * 3), rnd)];
  });
}

describe("values.yaml compared by its changed blocks only", () => {
  it("gives exactly what parsing and comparing both texts in full gives, on generated pairs", () => {
    let cut = 0;
    for (const [before, after] of variants(VARIANTS, 16)) {
      const full = diffValuesInFull(before, after);
      expect({ before, after, diff: diffValuesText(before, after) }).toEqual({ before, after, diff: full });
      if (cutSharedValues(before, after)?.[1].includes(UNCHANGED)) cut++;
    }
    // most pairs take the shortcut (else this test would not test it)
    expect(cut).toBeGreaterThan(VARIANTS / 2);
  });

  it("reads a fleet-wide change in a few lines of each side", () => {
    const before = rendered[1] as string;
    const after = before.replace("scrape_interval: 1m", "scrape_interval: 45s");
    const cut = cutSharedValues(before, after);
    expect(cut?.[1].split("\n").length).toBeLessThan(25);
    expect(diffValuesText(before, after)).toEqual(["prometheus.yml global.scrape_interval: 1m → 45s"]);
  });

  it("still reports a text that does not parse when the broken block is the same on both sides", () => {
    const broken = (rendered[0] as string).replace("alertmanager:\n", "alertmanager:\n  deployment: {\n");
    const [outer, embedded] = [
      broken,
      (rendered[0] as string).replace(
        "      scrape_configs:\n",
        "      scrape_configs:\n      - [unclosed\n",
      ),
    ];
    for (const text of [outer, embedded]) {
      const after = text.replace("scrape_interval: 1m", "scrape_interval: 45s");
      const full = diffValuesInFull(text, after);
      expect(full[0]).toMatch(/^values\.yaml changed, and is not valid YAML: /);
      expect(diffValuesText(text, after)).toEqual(full);
    }
  });

  it("compares in full where a dotted key could name the same path as a cut block", () => {
    // `a.b` and `a: {b: ...}` both flatten to the path a.b: which one a comparison shows depends on both
    const before = "a:\n  b:\n    c: 1\n    d: 2\n    e: 3\na.b: {c: 1}\nz: 1\n";
    const after = before.replace("z: 1", "z: 2");
    expect(cutSharedValues(before, after)).toBeUndefined();
    expect(diffValuesText(before, after)).toEqual(diffValuesInFull(before, after));
  });

  it("shows external labels and the PVC size whole, the parts both sides share included", () => {
    const shared = ["team:", "  name: a", "  owner: b", "  extra: c"];
    const before = (rendered[0] as string)
      .replace(
        "          cluster: kind\n",
        ["          cluster: kind", ...shared.map((l) => `          ${l}`), ""].join("\n"),
      )
      .replace(
        "    storage: 1Gi\n",
        ["    storage:", "      size: 1Gi", ...shared.map((l) => `      ${l}`), ""].join("\n"),
      );
    const after = before.replace("cluster: kind\n", "cluster: kind-2\n").replace("size: 1Gi", "size: 2Gi");
    const diff = diffValuesText(before, after);
    expect(diff).toEqual(diffValuesInFull(before, after));
    expect(diff.join("\n")).toContain('"team":{"name":"a","owner":"b","extra":"c"}');
    expect(diff.join("\n")).not.toContain(UNCHANGED);
  });

  it("cuts what names each cluster, so a fleet-wide change reads alike on every cluster", () => {
    const base = rendered[0] as string;
    const clusters = ["edge-1", "edge-2", "x9", "true", "null"].map((name) => {
      const before = base.replaceAll("cluster: kind", `cluster: ${name}`);
      return [before, before.replace("scrape_interval: 1m", "scrape_interval: 45s")] as const;
    });
    const cuts = clusters.map(([before, after]) => cutSharedValues(before, after));
    for (const cut of cuts) expect(cut).toEqual(cuts[0]);
    expect(cuts[0]?.join("\n")).not.toMatch(/cluster: /);
    for (const [before, after] of clusters)
      expect(diffValuesText(before, after)).toEqual(["prometheus.yml global.scrape_interval: 1m → 45s"]);
    // the same texts' comparison, shared or not, is each cluster's own: its label changing is shown whole
    const [before] = clusters[0] as readonly [string, string];
    const relabelled = before.replace("cluster: edge-1", "cluster: edge-1b");
    expect(diffValuesText(before, relabelled)).toEqual(diffValuesInFull(before, relabelled));
    expect(diffValuesText(before, relabelled)).toEqual([
      'external labels: {"cluster":"edge-1"} → {"cluster":"edge-1b"}',
    ]);
  });

  it("does not take a shared block for one read before when more than a plain value's word differs", () => {
    const base = (rendered[0] as string).replace(
      "        url: https://",
      "        basic_auth:\n          username: kind\n        url: https://",
    );
    const change = (text: string) => text.replace("scrape_interval: 1m", "scrape_interval: 45s");
    // read once with a plain word, then with values that break the block or tie it to others
    const values = [
      "kind",
      "kind-2.a_b",
      "kind:",
      "kind: x",
      '"kind',
      "[kind",
      "kind]",
      "*kind",
      "&kind x",
      "kind #",
      "- kind",
    ];
    for (const value of values) {
      const before = base.replace("username: kind", `username: ${value}`);
      const full = diffValuesInFull(before, change(before));
      expect({ value, diff: diffValuesText(before, change(before)) }).toEqual({ value, diff: full });
    }
  });

  it("gives each pair its own answer when many pairs' cut texts repeat", () => {
    const pairs = variants(VARIANTS / 4, 61);
    // twice: the second round answers from what the first compared
    for (let round = 0; round < 2; round++)
      for (const [before, after] of pairs)
        expect({ before, after, diff: diffValuesText(before, after) }).toEqual({
          before,
          after,
          diff: diffValuesInFull(before, after),
        });
  });

  it("compares in full where a shared block redefines an anchor used elsewhere", () => {
    const before = "a: &x\n  v: 1\nb:\n  c: &x\n    v: 2\n  d: 1\nz: *x\n";
    const after = before.replace("z: *x", "z: [*x]");
    // z is b.c's value, the later anchor: {v: 2}
    expect(diffValuesText(before, after)).toEqual(['value z: (none) → [{"v":2}]', "value z.v: 2 → (none)"]);
  });
});
