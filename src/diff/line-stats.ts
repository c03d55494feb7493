/** Lines added and removed per cluster between two rendered trees, as `git diff --numstat` counts them. */

export interface LineStats {
  added: number;
  removed: number;
}

/**
 * The lines a line diff of one cluster's changed files adds and removes (path in its folder -> content;
 * a missing side is an added or removed cluster). A file only on one side counts all its lines.
 */
export function clusterLineStats(
  before: ReadonlyMap<string, string> | undefined,
  after: ReadonlyMap<string, string> | undefined,
): LineStats {
  const total = { added: 0, removed: 0 };
  for (const file of new Set([...(before?.keys() ?? []), ...(after?.keys() ?? [])])) {
    const [b, a] = [before?.get(file), after?.get(file)];
    if (b === a) continue;
    const delta = lineStats(...differingLines(b ?? "", a ?? ""));
    total.added += delta.added;
    total.removed += delta.removed;
  }
  return total;
}

/** A text's lines as `git diff` counts them: a last line break ends the last line, it starts none. */
export const lines = (text: string): string[] =>
  text === "" ? [] : (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");

/**
 * Two texts' lines without some of the lines both start and end with (a shortest edit script keeps
 * those), found on the texts before splitting: most of a changed file is the same on both sides.
 */
export function differingLines(before: string, after: string): [string[], string[]] {
  const i = sameLength(before, after, (x, from, to) => x.slice(from, to));
  // the lines that end before the first difference: the same on both sides
  const start = i === 0 ? 0 : before.lastIndexOf("\n", i - 1) + 1;
  const [b, a] = [before.slice(start), after.slice(start)];
  const j = sameLength(b, a, (x, from, to) => x.slice(x.length - to, x.length - from));
  // a line break in the common end with more after it: the lines after it are the same on both sides
  const end = b.indexOf("\n", b.length - j);
  if (end < 0 || end === b.length - 1) return [lines(b), lines(a)];
  const tail = b.length - end;
  return [b.slice(0, end).split("\n"), a.slice(0, a.length - tail).split("\n")];
}

/**
 * The length of the longest part two texts share, by a binary search over pieces `piece(text, from, to)`
 * (their starts or their ends): strings compared whole, not character by character.
 */
function sameLength(x: string, y: string, piece: (text: string, from: number, to: number) => string): number {
  let [same, most] = [0, Math.min(x.length, y.length)];
  while (same < most) {
    const mid = (same + most + 1) >>> 1;
    if (piece(x, same, mid) === piece(y, same, mid)) same = mid;
    else most = mid - 1;
  }
  return same;
}

/**
 * Added and removed lines of a shortest edit script (Myers' O(ND) algorithm; only its length is kept).
 * Common first and last lines are matched first: a shortest script never needs to change them.
 */
export function lineStats(allBefore: string[], allAfter: string[]): LineStats {
  let [start, endB, endA] = [0, allBefore.length, allAfter.length];
  while (start < endB && start < endA && allBefore[start] === allAfter[start]) start++;
  while (endB > start && endA > start && allBefore[endB - 1] === allAfter[endA - 1])
    [endB, endA] = [endB - 1, endA - 1];
  const [before, after] = [allBefore.slice(start, endB), allAfter.slice(start, endA)];
  const [n, m] = [before.length, after.length];
  const max = n + m;
  // furthest[k + max]: the furthest x reached on diagonal k = x - y.
  const furthest = new Array<number>(2 * max + 2).fill(0);
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (furthest[k - 1 + max] ?? 0) < (furthest[k + 1 + max] ?? 0));
      let x = down ? (furthest[k + 1 + max] ?? 0) : (furthest[k - 1 + max] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && before[x] === after[y]) [x, y] = [x + 1, y + 1];
      furthest[k + max] = x;
      // d = removed + added, and both sides keep the same common lines: removed - added = n - m.
      if (x >= n && y >= m) return { removed: (d + (n - m)) / 2, added: (d - (n - m)) / 2 };
    }
  }
  return { added: m, removed: n };
}
