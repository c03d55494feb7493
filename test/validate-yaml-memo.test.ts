import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { YamlMemo } from "../src/validate/yaml-memo.js";
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

function memoParse(memo: YamlMemo, text: string): unknown {
  try {
    return { value: memo.parse(text) };
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

function memoDocuments(memo: YamlMemo, text: string): unknown {
  try {
    return memo.documents(text);
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

/** Texts that a split by top-level entry could get wrong; each compared with yaml, in one memo. */
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
];

describe("YamlMemo: yaml's parse, each shared entry parsed once", () => {
  it("gives yaml's value for every file a fleet renders, and its embedded prometheus.yml", async () => {
    const example = await exampleFleetRepo();
    const secure = (await secureFleetRepo({ agents: ["kind", "edge-1", "edge-2"] })).dir;
    const memo = new YamlMemo();
    let compared = 0;
    for (const dir of [example, secure]) {
      expect((await promfleet(dir, ["render"])).code).toBe(0);
      for (const file of await filesUnder(path.join(dir, "clusters"))) {
        const text = await readFile(file, "utf8");
        expect(memo.documents(text), file).toEqual(yamlDocuments(text));
        if (!file.endsWith("values.yaml") || file.includes("manifests")) continue;
        expect(memo.parse(text), file).toEqual(parse(text));
        const embedded = (parse(text) as { prometheus: { config: { prometheus_yml: string } } }).prometheus
          .config.prometheus_yml;
        expect(memo.parse(embedded), file).toEqual(parse(embedded));
        compared++;
      }
    }
    expect(compared).toBe(6);
  });

  it("parses an entry two clusters share once: both get the same frozen value", async () => {
    const memo = new YamlMemo();
    const config = (cluster: string) =>
      `global:\n  external_labels:\n    cluster: ${cluster}\nscrape_configs:\n- job_name: pods\n  static_configs:\n  - targets: [a:1]\n`;
    const [a, b] = [memo.parse(config("a")), memo.parse(config("b"))] as Array<Record<string, unknown>>;
    expect(a?.global).toEqual({ external_labels: { cluster: "a" } });
    expect(b?.global).toEqual({ external_labels: { cluster: "b" } });
    expect(a?.scrape_configs).toBe(b?.scrape_configs);
    expect(Object.isFrozen(a?.scrape_configs)).toBe(true);
    expect(() => (a?.scrape_configs as unknown[]).push(1)).toThrow();
  });

  it("gives yaml's value or error for every text a split could get wrong, at any depth", () => {
    const memo = new YamlMemo();
    const indent = (text: string, by: string, blank: string) =>
      text.replace(/^(.*)$/gm, (line) => (line ? `${by}${line}` : blank));
    const nested = TRICKY.flatMap((t) => [
      `outer:\n${indent(t, "  ", "")}`,
      `outer:\n${indent(t, "  ", " ")}sibling: 1\n`,
      `first: 0\nouter:\n  mid:\n${indent(t, "    ", "  ")}  last: 2\n`,
      `outer:\n  mid:\n${indent(t, "    ", "")}`,
    ]);
    // twice over: the second round reads every entry from the memo
    const texts = [...TRICKY, ...nested];
    for (const text of [...texts, ...texts]) expect(memoParse(memo, text), text).toEqual(yamlParse(text));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("gives parseAllDocuments' values or errors for every stream a split could get wrong", () => {
    const memo = new YamlMemo();
    for (const text of [...TRICKY_STREAMS, ...TRICKY_STREAMS])
      expect(memoDocuments(memo, text), text).toEqual(yamlDocuments(text));
  });

  it("stays right when it forgets: more distinct entries than it keeps", () => {
    const memo = new YamlMemo();
    for (let i = 0; i < 10_000; i += 7) {
      const text = `shared:\n  job: x\nown:\n  n: ${i}\n`;
      expect(memo.parse(text)).toEqual({ shared: { job: "x" }, own: { n: i } });
    }
  });
});
