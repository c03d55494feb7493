import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { SPEC_YAML_OPTIONS } from "../src/fleet/load.js";
import { readPlainYaml } from "../src/fleet/plain-yaml.js";
import { parseSpecYaml } from "../src/fleet/source.js";

const root = path.resolve(import.meta.dirname, "..");
const exampleSpec = readFileSync(path.join(root, "fleet.yaml"), "utf8");

/** What the yaml library makes of `text` as the spec loader parses it: the value, or that it has errors. */
function library(text: string): { value: unknown } | { errors: true } {
  const docs = parseAllDocuments(text, { ...SPEC_YAML_OPTIONS });
  const all = Array.isArray(docs) ? docs : [];
  if (all.length !== 1 || all.some((d) => d.errors.length > 0)) return { errors: true };
  return { value: all[0]?.toJS() };
}

/** The fast reader either declines, or agrees with the library exactly (and the library sees no error). */
function expectAgreement(text: string): unknown {
  const fast = readPlainYaml(text);
  if (fast !== undefined) expect({ text, parsed: library(text) }).toEqual({ text, parsed: { value: fast } });
  return fast;
}

/** A generated spec like the bench's: flow lists and maps, quoted hashes, comments. */
function generatedSpec(count: number): string {
  const agents = Array.from({ length: count }, (_, i) =>
    [
      `  - name: agent-${i}   # agent ${i}`,
      "    role: agent",
      ...(i % 3 === 0 ? ["    delivery: flux"] : []),
      ...(i % 5 === 0 ? [`    overlays: [overlays/teams/team-${i % 4}.yaml, 'overlays/own/${i}.yaml']`] : []),
      ...(i % 4 === 0 ? ['    values: { prometheus.pvc.storage: "2Gi", replicas: 2, debug: false }'] : []),
      '    credential: { passwordHash: "$2a$10$abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ01234" }',
    ].join("\n"),
  );
  return `apiVersion: promfleet.dev/v1alpha1
kind: Fleet

package:
  refName: prometheus.tanzu.vmware.com
  version: 2.43.0+vmware.2-tkg.1
git:
  url: https://github.com/example/fleet.git
remoteWrite:
  tls:
    caSecret: aggregator-ca
overlays: [overlays/fleet/interval.yaml]
clusters:
  - name: hub
    role: aggregator
    ingress: { host: prometheus.example.com }
${agents.join("\n")}
`;
}

describe("the fast spec reader", () => {
  it("reads the example fleet and a generated one exactly as the yaml library does", () => {
    for (const text of [exampleSpec, generatedSpec(40)]) {
      const fast = readPlainYaml(text);
      expect(fast).toBeDefined();
      expect(library(text)).toEqual({ value: fast });
    }
  });

  it("reads one-line scalars as the core schema resolves them", () => {
    const text = [
      "a: 12",
      "b: -7",
      "c: true",
      "d: False",
      "e: ~",
      "f:",
      "g: null",
      "h: 'it''s'",
      'i: "say #not a comment"',
      "j: 30s # a comment",
      "k: a, b",
      "l: -x",
      "m: http://example.com/a#frag",
      "n: []",
      "o: {}",
      "p: [1, [x, 'y'], { k: v }]",
      '"q r": x',
      "s:",
      "- 1",
      "t:",
      "  - u: 1",
      "    v: [w]",
      "- - leave it",
    ].join("\n");
    // the last line is a nested compact sequence, which the reader leaves to the library
    expect(expectAgreement(text)).toBeUndefined();
    const fast = expectAgreement(text.split("\n").slice(0, -1).join("\n"));
    expect(fast).toEqual({
      a: 12,
      b: -7,
      c: true,
      d: false,
      e: null,
      f: null,
      g: null,
      h: "it's",
      i: "say #not a comment",
      j: "30s",
      k: "a, b",
      l: "-x",
      m: "http://example.com/a#frag",
      n: [],
      o: {},
      p: [1, ["x", "y"], { k: "v" }],
      "q r": "x",
      s: [1],
      t: [{ u: 1, v: ["w"] }],
    });
  });

  it.each([
    ["an anchor and alias", "a: &x 1\nb: *x\n"],
    ["a merge key", "base: &b { x: 1 }\nc:\n  <<: *b\n  y: 2\n"],
    ["a tag", "a: !!str 1\n"],
    ["a multi-line flow list", "a: [x,\n  y]\n"],
    ["a multi-line quoted scalar", 'a: "x\n  y"\n'],
    ["a duplicate key", "a: 1\na: 2\n"],
    ["a duplicate key, quoted", "a: 1\n'a': 2\n"],
    ["a duplicate flow key", "a: { x: 1, x: 2 }\n"],
    ["a tab", "a:\n\tb: 1\n"],
    ["two documents", "a: 1\n---\nb: 2\n"],
    ["a document start", "---\na: 1\n"],
    ["a directive", "%YAML 1.2\n---\na: 1\n"],
    ["a list at the top", "- a\n- b\n"],
    ["a scalar at the top", "just text\n"],
    ["nothing", "# only a comment\n"],
    ["wrong indentation", "a:\n    b: 1\n  c: 2\n"],
    ["a question-mark key", "? a\n: b\n"],
    ["an empty key after a comma", "a: { x,: 1 }\n"],
    ["an empty flow entry", "a: [x, , y]\n"],
    ["text after a quoted scalar", 'a: "x" y\n'],
    ["a comment glued to a quoted scalar", 'a: "x"#c\n'],
    ["a comment glued to a flow list", "a: [x]#c\n"],
    ["an unterminated quote", "a: 'x\n"],
    ["a scalar where a key belongs", "a: 1\nb\n"],
    ["a null key", "~: 1\n"],
    ["a null key, spelled out", "a:\n  null: 1\n"],
    ["a flow list as a key", "[a, b]: 1\n"],
    ["a flow mapping as a key", "{a: 1}: 2\n"],
  ])("leaves %s to the yaml library", (_name, text) => {
    expect(expectAgreement(text)).toBeUndefined();
  });

  it.each([
    ["a block scalar", "a: |\n  text\n", { a: "text\n" }],
    ["a folded scalar", "a: >-\n  text\n  more\n", { a: "text more" }],
    ["a multi-line plain scalar", "a: one\n  two\n", { a: "one two" }],
    ["an escape", 'a: "x\\ty"\n', { a: "x\ty" }],
    ["a float", "a: 1.5\n", { a: 1.5 }],
    ["infinity", "a: -.inf\n", { a: -Infinity }],
    ["an octal", "a: 0o17\n", { a: 15 }],
    ["a leading zero", "a: 017\n", { a: 17 }],
    ["a binary-looking string (1.1 only)", "a: 0b11\n", { a: "0b11" }],
    ["a signed hex-looking string", "a: -0x1\n", { a: "-0x1" }],
    ["a signed float without a leading digit", "a: +.5\n", { a: 0.5 }],
    ["a huge integer", "a: 123456789012345678901234567890\n", { a: 1.2345678901234568e29 }],
    ["a boolean key", "true: 1\n", { true: 1 }],
    ["a number key", "1: x\n", { 1: "x" }],
    ["a trailing comma", "a: [x, y, ]\n", { a: ["x", "y"] }],
    ["CRLF line ends", "a: 1\r\nb: 2\r\n", { a: 1, b: 2 }],
  ])("reads %s exactly as the yaml library does", (_name, text, expected) => {
    expect(expectAgreement(text)).toEqual(expected);
  });

  it("reads a key of __proto__ as an own key, as the yaml library does, never as the prototype", () => {
    const fast = expectAgreement("__proto__: { polluted: 1 }\n") as Record<string, unknown>;
    expect(Object.keys(fast)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never disagrees with the library on thousands of specs built from tricky keys and values", () => {
    // keys and values the two libraries might resolve differently: null, booleans, numbers in YAML 1.1
    // and 1.2 spellings, flow collections (also as keys), quotes, escapes, block scalar headers
    const tokens = [
      ...["a", "~", "null", "NULL", "true", "False", "yes", "on", "1", "-1", "+1", "1.0", ".5", "+.5"],
      ...["1e3", "0x1F", "0o7", "0b1", "007", ".inf", "-.Inf", ".nan", "2001-01-01", "1_000", "-0", "00"],
      ...["'q'", '"d"', '"e\\tf"', "'it''s'", "''", '""', "[a, b]", "[]", "{}", "{a: 1}", "{a: [1, 2]}"],
      ...["x y", "x#y", "x # c", "<<", "|", ">", "|-", "a:b", "http://x", "-x", "- a", ":", "?", "=", "1:2"],
    ];
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = () => tokens[random(tokens.length)] as string;
    let accepted = 0;
    for (let k = 0; k < 4000; k++) {
      const lines = Array.from({ length: 1 + random(3) }, (_, i) => {
        const key = random(3) === 0 ? pick() : `k${i}`;
        const shape = random(4);
        if (shape === 0) return `${key}:\n  - ${pick()}\n  - ${pick()}`;
        if (shape === 1) return `${key}:\n  ${random(2) ? pick() : `s${i}`}: ${pick()}`;
        return `${key}: ${pick()}`;
      });
      if (expectAgreement(`${lines.join("\n")}\n`) !== undefined) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it("never disagrees with the library on thousands of one-character edits of a real spec", () => {
    // each edit inserts, deletes or replaces one character with one YAML cares about; whenever the
    // fast reader accepts the result, the library must read the same value without an error
    const base = generatedSpec(6);
    const alphabet = [
      " ",
      "-",
      ":",
      "#",
      "'",
      '"',
      "[",
      "]",
      "{",
      "}",
      ",",
      "\n",
      "&",
      "*",
      "!",
      "|",
      "0",
      "x",
      "\t",
      "\\",
      "?",
      ">",
      "%",
      "@",
      "`",
      ".",
      "1",
      "e",
      "~",
    ];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let k = 0; k < 3000; k++) {
      const at = random(base.length);
      const ch = alphabet[random(alphabet.length)] as string;
      const op = random(3);
      const text =
        op === 0
          ? base.slice(0, at) + ch + base.slice(at)
          : op === 1
            ? base.slice(0, at) + base.slice(at + 1)
            : base.slice(0, at) + ch + base.slice(at + 1);
      if (expectAgreement(text) !== undefined) accepted++;
    }
    // most edits keep a spec the fast reader reads: the comparison above ran on them
    expect(accepted).toBeGreaterThan(1000);
  });
});

describe("parseSpecYaml", () => {
  it("gives the same values from the fast path, and the document for locating problems on demand", () => {
    const fast = parseSpecYaml(exampleSpec, "fleet.yaml");
    if (Array.isArray(fast)) throw new Error("the example spec has problems");
    expect((library(exampleSpec) as { value: unknown }).value).toEqual(fast.raw);
    expect(fast.doc.toJS()).toEqual(fast.raw);
    expect(fast.lines.linePos(exampleSpec.indexOf("clusters:")).line).toBe(
      exampleSpec.slice(0, exampleSpec.indexOf("clusters:")).split("\n").length,
    );
  });
});
