/**
 * src/validate/fast-yaml.ts reads values and manifests with js-yaml when the spec's fast reader accepts
 * them: every value, error and message must still be the yaml library's (`parse`, `parseAllDocuments`
 * with their default options, which have no merge keys).
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { readPlainYaml } from "../src/fleet/plain-yaml.js";
import { parseYaml, parseYamlDocuments } from "../src/validate/fast-yaml.js";
import { exampleFleetRepo, promfleet } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

/** What yaml itself makes of a text: its value, or the message it throws. */
function yamlParse(text: string): unknown {
  try {
    return { value: parse(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function fastParse(text: string): unknown {
  try {
    return { value: parseYaml(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** parseAllDocuments' values (toJS) or errors, or what toJS throws (an alias to another document). */
function yamlDocuments(text: string): unknown {
  try {
    const docs = parseAllDocuments(text);
    const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
    return { values: errors.length > 0 ? [] : docs.map((d) => d.toJS() as unknown), errors };
  } catch (e) {
    return { thrown: (e as Error).message };
  }
}

function fastDocuments(text: string): unknown {
  try {
    return parseYamlDocuments(text);
  } catch (e) {
    return { thrown: (e as Error).message };
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Texts a fast reading could get wrong (anchors, merge keys, block scalars, duplicates...). */
const TRICKY = [
  "a: &x {b: 1}\nc: *x\n",
  "a: &x 1\nb: *x\n",
  "a: &x 2\nb: *x\n",
  "a: {b: &x 1}\nc: *x\n",
  "a: 1\na: 2\n",
  "a: 1\nb: 2\na: 3\n",
  "1: a\n01: b\n",
  "true: 1\nTrue: 2\n",
  "~: 1\nnull: 2\n",
  "a:\n- x\n- y\nb: 1\n",
  "a: x\n- y\n",
  'a: "x\nb: c"\n',
  "a: 'x\nb: c'\n",
  "a: [1,\nb: 2]\n",
  "a: {x: 1,\nb: 2}\n",
  "a: |\n  x\n\nb: c\n",
  "a: |\n  x\nb: 1\n",
  "a: |\n  x\nb: 1",
  "a: |+\n  x\n\nb: 1\n",
  "a: |+\n  x\n\n\n",
  "a: >+\n  x\n\nb: 1\n",
  "a: |+\n  x\n# c\n\nb: 1\n",
  "a: |-\n  x\n\nb: 1\n",
  "a: |\n  x",
  "a: |\n  x\n\n\n",
  "a: |\n  x\n   y\n\n  z\n",
  "a: |\n  x\n  \n",
  "a: |\n   \n  x\n",
  "a: |\n\n  x\n",
  "a: |\n  x\n\ty\n",
  "a: |\n  x\n  \ty\n",
  "a: |\n  x\n# c\n",
  "a: |\n  # not a comment\n  ---\n  - y: z\n",
  "a: |\n  \u0001\n",
  "a: |\n  \u0085\n",
  "a: |\n  \ufeffx\n",
  "a: |\n    x\n  y\n",
  "true: |\n  x\n",
  "a: |\n  x\nb: |\n  y\n",
  "a: |\nb: c\n",
  "a: |\nx\nb: c\n",
  "a: foo\nbar\n",
  "__proto__: {polluted: 1}\nb: 2\n",
  "%YAML 1.1\n---\na: yes\nb: 010\n",
  "a: yes\nb: 010\n",
  "a: 1\n---\nb: 2\n",
  "# header\n\na: 1\n# between\nb:\n  c: 2\n",
  "a: 1\r\nb: 2\r\n",
  "a:\r\n  b: 1\r\n",
  "",
  "# only a comment\n",
  "- a\n- b\n",
  "  a: 1\n  b: 2\n",
  "a:\n\tb: 1\n",
  "a: !!str 1\nb: !!int '2'\n",
  "a: b: c\n",
  "? a\n: 1\n",
  "a: 1\n...\n",
  "a: x # comment\nb: 'y' # comment\n",
  "a: 1\nb:\n",
  "a.b: 1\na-b: 2\n$c: 3\n",
  "<<: {a: 1}\nb: 2\n",
  "a:\n  <<: {b: 1}\n  c: 2\n",
  "a:\n  '<<': 1\n",
  "a: x<<y\n",
  "description: Prometheus's PVC\nb: 'it''s'\n",
];

const TRICKY_STREAMS = [
  "a: |+\n  x\n\n---\nb: |+\n  y\n\n",
  "a: |+\n  x\n\n---",
  "---\na: 1\n---",
  "#! header\n---\napiVersion: v1\nkind: Namespace\n---\n",
  "a: 1\n---\nb: 2\n",
  "---\n#only\n---\nb: 1\n",
  "---\na: 1\n---\na: 1\na: 2\n",
  "---\na: &x 1\n---\nb: *x\n",
  "--- !!map\na: 1\n",
  "%YAML 1.1\n---\na: yes\n",
  "a: 1\n...\n---\nb: 2\n",
  "---\n- a\n---\nb: 1\n",
  "---\nscalar\n",
  "",
  "---\r\na: 1\r\n",
  "# only a comment\n",
  "\n\n",
  "---\n---\n",
  "a: 1\n---\n\n---\nb: 2\n",
  "---\n<<: {a: 1}\n",
  "a: 1\n--- # a comment\nb: 2\n",
  "a: 1\r\n---\r\nb: 2\r\n",
];

/** A deterministic pseudo-random source (the differential tests must fail the same way every run). */
function randomSource(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

/** Keys and values the two libraries might read differently; merge keys among them. */
const TOKENS = [
  ...["a", "~", "null", "true", "False", "yes", "1", "-1", "+1", "1.0", ".5", "+.5", "1e3", "0x1F", "0o7"],
  ...["0b1", "007", ".inf", ".nan", "2001-01-01", "1_000", "-0", "'q'", '"d"', '"e\\tf"', "'it''s'", "''"],
  ...[
    "[a, b]",
    "[]",
    "{}",
    "{a: 1}",
    "{<<: {a: 1}}",
    "<<",
    "'<<'",
    "|",
    ">",
    "x y",
    "x # c",
    "a:b",
    "-x",
    ":",
  ],
];

/** A small block mapping of tokens, as keys and values, nested and in lists. */
function tokenMapping(random: (n: number) => number): string {
  const pick = () => TOKENS[random(TOKENS.length)] as string;
  const lines = Array.from({ length: 1 + random(4) }, (_, i) => {
    const key = random(3) === 0 ? pick() : `k${i}`;
    const shape = random(4);
    if (shape === 0) return `${key}:\n  - ${pick()}\n  - ${pick()}`;
    if (shape === 1) return `${key}:\n  ${random(2) ? pick() : `s${i}`}: ${pick()}\n  t: ${pick()}`;
    return `${key}: ${pick()}`;
  });
  return `${lines.join("\n")}\n`;
}

describe("fast-yaml: yaml's values, read by js-yaml where that is sure to agree", () => {
  it("gives yaml's value for every file a fleet renders, reading its values the fast way", async () => {
    const example = await exampleFleetRepo();
    const secure = (await secureFleetRepo({ agents: ["kind", "edge-1", "edge-2"] })).dir;
    let compared = 0;
    for (const dir of [example, secure]) {
      expect((await promfleet(dir, ["render"])).code).toBe(0);
      for (const file of await filesUnder(path.join(dir, "clusters"))) {
        const text = await readFile(file, "utf8");
        expect(fastDocuments(text), file).toEqual(yamlDocuments(text));
        if (!file.endsWith("values.yaml") || file.includes("manifests")) continue;
        expect(parseYaml(text), file).toEqual(parse(text));
        const embedded = (parse(text) as { prometheus: { config: { prometheus_yml: string } } }).prometheus
          .config.prometheus_yml;
        expect(parseYaml(embedded), file).toEqual(parse(embedded));
        // the speed this module is for: rendered values never fall back to the yaml library
        expect(readPlainYaml(text), file).toBeDefined();
        expect(readPlainYaml(embedded), file).toBeDefined();
        compared++;
      }
    }
    expect(compared).toBe(6);
  });

  it("gives yaml's value or error for every text the fast reader could get wrong, at any depth", () => {
    const indent = (text: string, by: string, blank: string) =>
      text.replace(/^(.*)$/gm, (line) => (line ? `${by}${line}` : blank));
    const nested = TRICKY.flatMap((t) => [
      `outer:\n${indent(t, "  ", "")}`,
      `outer:\n${indent(t, "  ", " ")}sibling: 1\n`,
      `first: 0\nouter:\n  mid:\n${indent(t, "    ", "  ")}  last: 2\n`,
      `outer:\n  mid:\n${indent(t, "    ", "")}`,
    ]);
    for (const text of [...TRICKY, ...nested]) expect(fastParse(text), text).toEqual(yamlParse(text));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads a merge key as yaml's parse does: a plain key, merging nothing", () => {
    const text = "base: {x: 1}\nc:\n  <<: {y: 2}\n  z: 3\n";
    expect(parseYaml(text)).toEqual({ base: { x: 1 }, c: { "<<": { y: 2 }, z: 3 } });
    expect(parseYamlDocuments(`---\n${text}---\na: 1\n`).values).toEqual([
      { base: { x: 1 }, c: { "<<": { y: 2 }, z: 3 } },
      { a: 1 },
    ]);
  });

  it("gives parseAllDocuments' values or errors for every stream a split could get wrong", () => {
    for (const text of TRICKY_STREAMS) expect(fastDocuments(text), text).toEqual(yamlDocuments(text));
  });

  it("never disagrees with yaml on thousands of mappings and streams built from tricky tokens", () => {
    const random = randomSource(16);
    let fast = 0;
    for (let k = 0; k < 3000; k++) {
      const text = tokenMapping(random);
      expect(fastParse(text), text).toEqual(yamlParse(text));
      if (readPlainYaml(text) !== undefined && !text.includes("<<")) fast++;
      const stream = Array.from({ length: 1 + random(3) }, () => tokenMapping(random)).join("---\n");
      expect(fastDocuments(`---\n${stream}`), stream).toEqual(yamlDocuments(`---\n${stream}`));
    }
    // most texts took the fast path: the comparisons above tested it, not only the fallback
    expect(fast).toBeGreaterThan(1000);
  });
});
