/** Fleets for the tests of `diff` across many clusters (enough for its groups and worker threads). */
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile, type RepoGit } from "./fleet-repo.js";
import { expect } from "vitest";

/** One cluster as `diff --format json` reports it, with git-style line counts. */
export type CountedDiff = {
  cluster: string;
  status: string;
  changes: string[];
  added: number;
  removed: number;
};

/** Agents edge-000, edge-001, … */
export const agentNames = (count: number) =>
  Array.from({ length: count }, (_, i) => `edge-${String(i).padStart(3, "0")}`);

/**
 * The example fleet with `agents` added as agents, rendered (not committed); the spec's text before
 * and the entries appended to it.
 */
export async function renderedFleetWithAgents(
  agents: readonly string[],
): Promise<{ dir: string; spec: string; entries: string }> {
  const dir = await exampleFleetRepo();
  const spec = await readRepoFile(dir, "fleet.yaml");
  const entries = agents.map((name) => `  - name: ${name}\n    role: agent\n`).join("");
  await writeRepoFile(dir, "fleet.yaml", `${spec}${entries}`);
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  return { dir, spec, entries };
}

/**
 * Each cluster's added and removed lines in `diffs` are git's own counts for the working tree against
 * HEAD (everything staged first), the render records left out as diff leaves them out.
 */
export async function expectGitLineCounts(git: RepoGit, diffs: CountedDiff[]): Promise<void> {
  await git("add", "-A");
  const record = ":!*/.promfleet-render.yaml";
  const numstat = await git("diff", "--cached", "--numstat", "HEAD", "--", "clusters", record);
  const counts = new Map<string, { added: number; removed: number }>();
  for (const line of numstat.stdout.split("\n")) {
    const [added, removed, file] = line.split("\t") as [string, string, string];
    const cluster = file.split("/")[1] as string;
    const sum = counts.get(cluster) ?? { added: 0, removed: 0 };
    counts.set(cluster, { added: sum.added + Number(added), removed: sum.removed + Number(removed) });
  }
  expect(diffs.map((d) => [d.cluster, d.added, d.removed])).toEqual(
    diffs.map((d) => [d.cluster, counts.get(d.cluster)?.added, counts.get(d.cluster)?.removed]),
  );
}
