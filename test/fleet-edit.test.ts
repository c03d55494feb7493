/**
 * The spec edits' line-level fast path (src/fleet/spec-text*.ts), against the yaml library's document
 * edits and the yaml library's reading of the result: on generated specs (comments above, inside and
 * after entries, blank lines, nested values, flow lists and maps, block lists at the key's column, CRLF,
 * dash at column 0, 2 or 4) the fast path gives byte for byte what the document path gives, or declines.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  appendClusterEntry,
  appendViaDocument,
  removeClusterEntry,
  removeViaDocument,
  setCredentialFields,
  setCredentialViaDocument,
  readsBackInWindow,
  textEdits,
  type CredentialFields,
  type NewCluster,
} from "../src/fleet/edit.js";
import { readPlainYamlShared } from "../src/fleet/plain-yaml.js";
import { locateClusterBlock, type ClusterBlock } from "../src/fleet/spec-text.js";
import { changedLines } from "../src/util/changed-lines.js";

const HASH_A = "$2a$10$abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
const HASH_B = "$2b$10$zyxwvutsrqponmlkjihgfe.ZYXWVUTSRQPONMLKJIHGFEDCBA98765";

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

interface Layout {
  dash: number;
  /** Flow collections (lists, maps) are allowed in entries. */
  flow: boolean;
  /** As the yaml library writes it: no comments, lists indented under their key, no flow collections. */
  canonical: boolean;
}

function entryText(pick: (n: number) => number, i: number, layout: Layout): string[] {
  const d = " ".repeat(layout.dash);
  const k = " ".repeat(layout.dash + 2);
  const lines: string[] = [];
  const comment = !layout.canonical;
  if (pick(4) === 0 && comment)
    lines.push(`${d}# cluster ${i}`, ...(pick(2) ? [`${k}# and more about it`] : []));
  const names = [`${d}- name: c${i}`, `${d}- name: "c${i}"`, `${d}- name: 'c${i}'`];
  lines.push(
    comment
      ? ([...names, `${d}- name: c${i}   # the ${i}th`][pick(4)] as string)
      : (names[pick(3)] as string),
  );
  lines.push(`${k}role: agent`);
  if (pick(3) === 0 && comment) lines.push(`${k}# a comment inside the entry`);
  if (pick(3) === 0) lines.push(`${k}retention: ${1 + pick(9)}h`);
  const overlays = pick(5);
  if (overlays === 1 && layout.flow) lines.push(`${k}overlays: [overlays/a.yaml, 'overlays/b.yaml']`);
  if (overlays === 2) lines.push(`${k}overlays:`, `${k}  - overlays/a.yaml`);
  if (overlays === 3 && !layout.canonical) lines.push(`${k}overlays:`, `${k}- overlays/c.yaml`);
  const values = pick(4);
  if (values === 1)
    lines.push(`${k}values:`, `${k}  prometheus.pvc.storage: 2Gi`, `${k}  nested:`, `${k}    a: 1`);
  if (values === 2 && layout.flow) lines.push(`${k}values: { prometheus.pvc.storage: "2Gi", replicas: 2 }`);
  if (values === 3) lines.push(`${k}values:`, `${k}  text: |`, `${k}    line one`, "", `${k}    line two`);
  const credential = pick(4);
  if (credential === 1) lines.push(`${k}credential:`, `${k}  passwordHash: ${HASH_A}`);
  if (credential === 2)
    lines.push(
      `${k}credential:`,
      `${k}  passwordHash: "${HASH_A}"`,
      `${k}  generation: 1`,
      `${k}  previousPasswordHash: ${HASH_B}`,
    );
  if (credential === 3 && layout.flow) lines.push(`${k}credential: { passwordHash: "${HASH_A}" }`);
  if (pick(3) === 0) lines.push(`${k}walPath: in-container`);
  return lines;
}

function generatedSpec(seed: number): { text: string; names: string[]; layout: Layout } {
  const pick = random(seed);
  const canonical = pick(3) === 0;
  const layout: Layout = {
    dash: canonical ? 2 : ([0, 2, 2, 4][pick(4)] as number),
    flow: !canonical && pick(2) === 0,
    canonical,
  };
  const count = 1 + pick(5);
  const blank = pick(3) === 0;
  const entries = Array.from({ length: count }, (_, i) => entryText(pick, i, layout).join("\n"));
  const after = [[], ["waves:", "  - name: first"], ["# the end"], ["# about waves", "", "waves: []"]][
    pick(canonical ? 2 : 4)
  ];
  const text = [
    "apiVersion: promfleet.dev/v1alpha1",
    "kind: Fleet",
    ...(layout.flow ? ["overlays: [overlays/fleet.yaml]"] : ["overlays:", "  - overlays/fleet.yaml"]),
    "",
    ["clusters:", "clusters:   # every cluster"][canonical ? 0 : pick(2)] as string,
    entries.join(blank ? "\n\n" : "\n"),
    ...(after as string[]),
  ].join("\n");
  return { text: pick(4) === 0 ? text : `${text}\n`, names: entries.map((_, i) => `c${i}`), layout };
}

const newCluster: NewCluster = {
  name: "fresh",
  role: "agent",
  overlays: ["overlays/x.yaml"],
  values: { "prometheus.pvc.storage": "2Gi" },
  passwordHash: HASH_B,
};

const crlf = (text: string) => text.replace(/\n/g, "\r\n");

function credentialOf(text: string, name: string): unknown {
  const clusters = parse(text).clusters as Array<{ name: string; credential?: unknown }>;
  return clusters.find((c) => c.name === name)?.credential;
}

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

describe("spec edits by lines", () => {
  it("take the fast path on the plain layouts (the bench's spec among them)", () => {
    let fast = 0;
    for (const seed of SEEDS) {
      const { text, names } = generatedSpec(seed);
      if (textEdits.append(text, newCluster) !== undefined) fast++;
      if (textEdits.remove(text, names[0] as string) !== undefined) fast++;
    }
    // only entries with comments trailing them (or a block list at the dash's column) decline
    expect(fast).toBeGreaterThan(SEEDS.length * 1.5);
    const bench = [
      "clusters:",
      "  - name: hub",
      "    role: aggregator",
      "    ingress: { host: prometheus.example.com }",
      `    credential: { passwordHash: "${HASH_A}" }`,
      "  - name: agent-1",
      "    role: agent",
      "    overlays: [overlays/teams/team-1.yaml]",
      '    values: { prometheus.pvc.storage: "2Gi" }',
      `    credential: { passwordHash: "${HASH_A}" }`,
      "",
    ].join("\n");
    expect(textEdits.append(bench, newCluster)).toBeDefined();
    expect(textEdits.remove(bench, "agent-1")).toBeDefined();
    expect(textEdits.setCredential(bench, "agent-1", { passwordHash: HASH_B })).toBeDefined();
  });

  it("append: byte for byte the document path's text, LF and CRLF", () => {
    for (const seed of SEEDS) {
      const { text } = generatedSpec(seed);
      const expected = appendViaDocument(text, newCluster);
      const fast = textEdits.append(text, newCluster);
      if (fast !== undefined) expect({ seed, fast }).toEqual({ seed, fast: expected });
      expect({ seed, out: appendClusterEntry(text, newCluster) }).toEqual({ seed, out: expected });
      const fastCrlf = textEdits.append(crlf(text), newCluster);
      if (fastCrlf !== undefined) expect({ seed, fastCrlf }).toEqual({ seed, fastCrlf: crlf(expected) });
    }
  });

  it("remove: byte for byte the document path's text, for every entry, LF and CRLF", () => {
    for (const seed of SEEDS) {
      const { text, names } = generatedSpec(seed);
      for (const name of [...names, "absent"]) {
        const expected = removeViaDocument(text, name);
        const fast = textEdits.remove(text, name);
        if (fast !== undefined) expect({ seed, name, fast }).toEqual({ seed, name, fast: expected });
        expect({ seed, name, out: removeClusterEntry(text, name) }).toEqual({ seed, name, out: expected });
        const fastCrlf = textEdits.remove(crlf(text), name);
        if (fastCrlf !== undefined)
          expect({ seed, name, fastCrlf }).toEqual({ seed, name, fastCrlf: crlf(expected) });
      }
    }
  });

  it("credential fields: the intended data, only credential lines changed; the document's text on block layouts", () => {
    const edits: CredentialFields[] = [
      { passwordHash: HASH_B },
      { passwordHash: HASH_B, generation: 2, previousPasswordHash: HASH_A },
      { previousPasswordHash: null },
    ];
    let fastCount = 0;
    let sameAsDocument = 0;
    for (const seed of SEEDS.slice(0, 150)) {
      const { text, names, layout } = generatedSpec(seed);
      for (const name of names)
        for (const fields of edits) {
          const fast = textEdits.setCredential(text, name, fields);
          if (fast === undefined) continue;
          fastCount++;
          const expected = { ...(credentialOf(text, name) as object) } as Record<string, unknown>;
          for (const [k, v] of Object.entries(fields))
            if (v === null) delete expected[k];
            else expected[k] = v;
          const clean = (t: string) => ({ ...parse(t), clusters: undefined });
          expect({ seed, name, credential: credentialOf(fast, name) }).toEqual({
            seed,
            name,
            credential: expected,
          });
          expect(clean(fast)).toEqual(clean(text));
          const { removed, added } = changedLines(text, fast);
          for (const line of [...removed, ...added])
            expect({ seed, line }).toEqual({
              seed,
              line: expect.stringMatching(
                /^\s*(- )?(credential:|passwordHash:|generation:|previousPasswordHash:)/,
              ),
            });
          // the document path writes the whole text again: compare where that keeps every byte
          if (layout.canonical && text.endsWith("\n")) {
            sameAsDocument++;
            expect({ seed, name, fast }).toEqual({
              seed,
              name,
              fast: setCredentialViaDocument(text, name, fields),
            });
          }
          expect(setCredentialFields(crlf(text), name, fields)).toBe(crlf(fast));
        }
    }
    expect(fastCount).toBeGreaterThan(300);
    expect(sameAsDocument).toBeGreaterThan(20);
  });
});

describe("spec edits fall back to the document", () => {
  const flowList = "clusters: [{name: one, role: aggregator}]\n";
  const anchored = "base: &b\n  role: agent\nclusters:\n  - name: one\n    <<: *b\n";
  const tabbed = "clusters:\n  - name: one\n    role: agent\n    values:\n\t  x: 1\n";

  it("a flow-style clusters list, anchors and aliases: the document path's answer", () => {
    for (const text of [flowList, anchored]) {
      expect(textEdits.append(text, newCluster)).toBeUndefined();
      expect(appendClusterEntry(text, newCluster)).toBe(appendViaDocument(text, newCluster));
      expect(removeClusterEntry(text, "one")).toBe(removeViaDocument(text, "one"));
      expect(setCredentialFields(text, "one", { passwordHash: HASH_B })).toBe(
        setCredentialViaDocument(text, "one", { passwordHash: HASH_B }),
      );
    }
    expect(textEdits.append(tabbed, newCluster)).toBeUndefined();
  });

  it("comments trailing an entry, which could be its own or the next one's", () => {
    const text =
      "clusters:\n  - name: one\n    role: agent\n    # about one\n\n  - name: two\n    role: agent\n";
    expect(textEdits.remove(text, "one")).toBeUndefined();
    expect(removeClusterEntry(text, "one")).toBe(removeViaDocument(text, "one"));
    expect(textEdits.remove(text, "two")).toBeDefined();
  });

  it("a credential the line edit does not know (a comment among its fields, a nested value)", () => {
    for (const credential of [
      `    credential:\n      # rotated in May\n      passwordHash: ${HASH_A}\n`,
      `    credential:\n      passwordHash: ${HASH_A} # rotated in May\n`,
      `    credential: {passwordHash: "${HASH_A}", note: "a, b"}\n`,
    ]) {
      const text = `clusters:\n  - name: one\n    role: agent\n${credential}`;
      expect(textEdits.setCredential(text, "one", { passwordHash: HASH_B })).toBeUndefined();
      const out = setCredentialFields(text, "one", { passwordHash: HASH_B });
      expect(out).toBe(setCredentialViaDocument(text, "one", { passwordHash: HASH_B }));
      expect((credentialOf(out, "one") as { passwordHash: string }).passwordHash).toBe(HASH_B);
    }
  });

  it("a line edit whose result does not read back as the intended change is not used", () => {
    const text = "clusters:\n  - name: one\n    role: agent\n";
    const edited = "clusters:\n  - name: one\n    role: aggregator\n";
    expect(
      textEdits.checked(
        text,
        () => edited,
        (clusters) => [...clusters],
      ),
    ).toBeUndefined();
    const intended = (clusters: readonly unknown[]) =>
      clusters.map((c) => ({ ...(c as object), role: "aggregator" }));
    expect(textEdits.checked(text, () => edited, intended)).toBe(edited);
  });
});

describe("the read-back of a line edit re-reads only the entries it changed", () => {
  const entryOfNew = {
    name: "fresh",
    role: "agent",
    overlays: ["overlays/x.yaml"],
    values: { "prometheus.pvc.storage": "2Gi" },
    credential: { passwordHash: HASH_B },
  };
  type Entry = { name: string; credential?: object };
  const intended = {
    append: (old: Entry[]) => [...old, entryOfNew],
    remove: (old: Entry[]) => old.slice(1),
    setCredential: (old: Entry[]) =>
      old.map((c, i) => (i === 0 ? { ...c, credential: { ...c.credential, passwordHash: HASH_B } } : c)),
  };
  /** Every one-character corruption of `text` at a few places around `at`. */
  function corruptions(text: string, at: number): string[] {
    const out: string[] = [];
    for (const i of [at - 3, at - 1, at, at + 1, at + 5, at + 20, text.length - 1])
      if (i >= 0 && i < text.length)
        for (const edit of ["", " ", "\n", "x", "#", "-", ":"])
          out.push(text.slice(0, i) + edit + text.slice(i + 1));
    return out;
  }
  const readAll = (t: string): unknown => {
    try {
      return parse(t);
    } catch {
      return undefined;
    }
  };

  it("proves the correct edits, and accepts a corrupted one only when the yaml library reads it as intended", () => {
    let proven = 0;
    let refused = 0;
    for (const seed of SEEDS.slice(0, 150)) {
      const { text, names } = generatedSpec(seed);
      const block = locateClusterBlock(text);
      const before = parse(text) as { clusters: Entry[] };
      const edits = {
        append: textEdits.append(text, newCluster),
        remove: textEdits.remove(text, names[0] as string),
        setCredential: textEdits.setCredential(text, names[0] as string, { passwordHash: HASH_B }),
      };
      for (const [kind, edited] of Object.entries(edits)) {
        if (!block || edited === undefined) continue;
        const expected = { ...before, clusters: intended[kind as keyof typeof intended](before.clusters) };
        // what the fast path remembered for the edited text is what the yaml library reads
        expect({ seed, kind, read: readPlainYamlShared(edited) }).toEqual({ seed, kind, read: expected });
        if (readsBackInWindow(text, edited, block, before.clusters, expected.clusters)) proven++;
        let at = 0;
        while (text[at] === edited[at]) at++;
        for (const wrong of corruptions(edited, at)) {
          if (wrong === edited) continue;
          if (readsBackInWindow(text, wrong, block, before.clusters, expected.clusters))
            expect({ seed, kind, wrong, read: readAll(wrong) }).toEqual({
              seed,
              kind,
              wrong,
              read: expected,
            });
          else refused++;
        }
      }
    }
    expect(proven).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(500);
  });

  it("re-reads the entry before the change: a kept block scalar's trailing blank lines are its value", () => {
    const text = "clusters:\n  - name: one\n    role: agent\n    values:\n      note: |+\n        hi\n\n";
    const block = locateClusterBlock(text) as ClusterBlock;
    const old = (parse(text) as { clusters: Entry[] }).clusters;
    expect(old[0]).toEqual({ name: "one", role: "agent", values: { note: "hi\n\n" } });
    // the entry spliced in right after "hi" takes the blank line from one's note
    const spliced = text.replace("hi\n", `hi\n  - name: fresh\n    role: agent\n`);
    const intendedEntries = [...old, { name: "fresh", role: "agent" }];
    expect((parse(spliced) as { clusters: unknown[] }).clusters).not.toEqual(intendedEntries);
    expect(readsBackInWindow(text, spliced, block, old, intendedEntries)).toBe(false);
    expect(
      textEdits.checked(
        text,
        () => spliced,
        () => intendedEntries,
      ),
    ).toBeUndefined();
  });

  it("refuses an edit that also changes a line outside the entries, or an entry it did not mean to", () => {
    const text = "kind: Fleet\nclusters:\n  - name: one\n    role: agent\n  - name: two\n    role: agent\n";
    const block = locateClusterBlock(text) as ClusterBlock;
    const old = (parse(text) as { clusters: Entry[] }).clusters;
    const appended = `${text}  - name: fresh\n    role: agent\n`;
    const entries = [...old, { name: "fresh", role: "agent" }];
    expect(readsBackInWindow(text, appended, block, old, entries)).toBe(true);
    for (const wrong of [appended.replace("kind: Fleet", "kind: Fleat"), appended.replace("one", "uno")]) {
      expect(readsBackInWindow(text, wrong, block, old, entries)).toBe(false);
      expect(
        textEdits.checked(
          text,
          () => wrong,
          () => entries,
        ),
      ).toBeUndefined();
    }
  });

  it("finds a change however far from the edit (texts compared a chunk at a time)", () => {
    const entry = (i: number) => `  - name: c${i}\n    role: agent\n    values: { a: ${i} }\n`;
    const text = `clusters:\n${Array.from({ length: 1000 }, (_, i) => entry(i)).join("")}waves: []\n`;
    const block = locateClusterBlock(text) as ClusterBlock;
    const old = (parse(text) as { clusters: Entry[] }).clusters;
    const edited = textEdits.setCredential(text, "c250", { passwordHash: HASH_B }) as string;
    const entries = intended.setCredential([old[250] as Entry]);
    const expected = [...old.slice(0, 250), ...entries, ...old.slice(251)];
    expect(text.length).toBeGreaterThan(8 * 4096);
    expect(readsBackInWindow(text, edited, block, old, expected)).toBe(true);
    for (const far of ["a: 3 }", "a: 997 }", "waves: []"]) {
      const wrong = edited.replace(far, far.replace(/\d+|\[\]/, "9"));
      expect({ far, proven: readsBackInWindow(text, wrong, block, old, expected) }).toEqual({
        far,
        proven: false,
      });
    }
  });
});
