/**
 * diff counts the lines a changed file adds and removes on the lines that differ, cut from the texts
 * before they are split (src/diff/line-stats.ts differingLines): on generated pairs, edge cases of line
 * breaks included, the counts are exactly those of the whole texts' lines, and those git counts.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "./helpers/random.js";
import { clusterLineStats, differingLines, lines, lineStats } from "../src/diff/line-stats.js";

/** Texts of few distinct characters, so that lines, line breaks and partial lines repeat and collide. */
function text(rnd: () => number, length: number): string {
  const alphabet = ["a", "b", "\n", "\n", "ab\n", "\n\n", "\r\n"];
  return Array.from({ length }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
}

/** A text edited in a few places: characters inserted, removed or replaced. */
function edited(rnd: () => number, from: string): string {
  let out = from;
  for (let k = Math.floor(rnd() * 3); k >= 0; k--) {
    const at = Math.floor(rnd() * (out.length + 1));
    const cut = Math.floor(rnd() * 3);
    out = `${out.slice(0, at)}${text(rnd, Math.floor(rnd() * 3))}${out.slice(at + cut)}`;
  }
  return out;
}

describe("line counts from the differing lines", () => {
  it("equal the counts over the whole texts' lines, on generated pairs", () => {
    const rnd = seededRandom(16);
    for (let n = 0; n < 20000; n++) {
      const before = text(rnd, Math.floor(rnd() * 12));
      const after = rnd() < 0.8 ? edited(rnd, before) : text(rnd, Math.floor(rnd() * 12));
      const whole = lineStats(lines(before), lines(after));
      expect({ before, after, stats: lineStats(...differingLines(before, after)) }).toEqual({
        before,
        after,
        stats: whole,
      });
    }
  });

  it("keep what both texts start and end with out of the lines compared", () => {
    const head = "a: 1\nb: 2\n";
    const [before, after] = [`${head}c: 3\nd: 4\ne: 5\n`, `${head}c: 30\nd: 4\ne: 5\n`];
    expect(differingLines(before, after)).toEqual([["c: 3"], ["c: 30"]]);
    // a file only on one side counts all its lines; an empty text has none
    expect(
      clusterLineStats(
        new Map([["f", before]]),
        new Map([
          ["f", after],
          ["g", "x\n\ny"],
        ]),
      ),
    ).toEqual({
      added: 4,
      removed: 1,
    });
    expect(differingLines("\nx", "y")).toEqual([["", "x"], ["y"]]);
  });
});
