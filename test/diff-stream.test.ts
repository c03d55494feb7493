/**
 * diff reads the ref's tree by blob id and the working tree a group of clusters at a time: the result is
 * the same in a fleet kept in a folder of a larger repository and in a repository using SHA-256 object ids.
 */
import { execa } from "execa";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

type ClusterDiff = { cluster: string; status: string; changes: string[] };

/** The example fleet rendered in `<repo>/fleet/`, committed in a repository of the given object format. */
async function fleetInSubfolder(objectFormat: "sha1" | "sha256"): Promise<{ repo: string; dir: string }> {
  const repo = await mkdtemp(path.join(os.tmpdir(), "promfleet-diff-stream-"));
  const dir = path.join(repo, "fleet");
  await execa("cp", ["-a", await exampleFleetRepo(), dir]);
  expect((await promfleet(dir, ["render"])).code).toBe(0);
  const git = (...args: string[]) =>
    execa("git", ["-C", repo, "-c", "user.email=t@e.com", "-c", "user.name=t", ...args]);
  await git("init", "-q", "-b", "main", `--object-format=${objectFormat}`);
  await git("add", "-A");
  await git("commit", "-qm", "base");
  return { repo, dir };
}

describe("diff against a ref, streamed", () => {
  for (const format of ["sha1", "sha256"] as const)
    it(`reports changed, added and hand-edited clusters in a fleet folder of a ${format} repository`, async () => {
      const { dir } = await fleetInSubfolder(format);
      const spec = await readRepoFile(dir, "fleet.yaml");
      await writeRepoFile(
        dir,
        "fleet.yaml",
        `${spec.replace("retention: 5m", "retention: 10m")}  - name: edge-1\n    role: agent\n`,
      );
      expect((await promfleet(dir, ["render"])).code).toBe(0);
      const app = await readRepoFile(dir, "clusters/orbstack/bootstrap/app.yaml");
      await writeRepoFile(
        dir,
        "clusters/orbstack/bootstrap/app.yaml",
        app.replace("syncPeriod: 1m", "syncPeriod: 2m"),
      );
      const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
      expect(r.code, r.stderr).toBe(0);
      const diffs = (JSON.parse(r.stdout) as { clusters: ClusterDiff[] }).clusters;
      expect(diffs.map((d) => [d.cluster, d.status])).toEqual([
        ["edge-1", "added"],
        ["kind", "changed"],
        ["orbstack", "changed"],
      ]);
      expect(diffs[1]?.changes[0]).toBe("retention 5m → 10m (--storage.agent.retention.max-time)");
      expect(diffs[2]?.changes).toEqual([
        "bootstrap/app.yaml: App promfleet-orbstack spec.syncPeriod: 1m → 2m",
      ]);
    });
});
