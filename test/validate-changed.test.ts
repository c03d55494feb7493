/**
 * validate --changed-since REF, as a pull request's review runs it: only clusters whose folder differs
 * from REF are validated, every cluster when what the checks read changed, and a broken cluster the
 * pull request did not touch is left to the full run on the default branch.
 */
import { execa } from "execa";
import { readFile, rm, utimes } from "node:fs/promises";
import path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  exampleFleetRepo,
  fixturesDir,
  promfleet,
  readRepoFile,
  writeRepoFile,
} from "./helpers/fleet-repo.js";

type Report = {
  ok: boolean;
  clusters: Array<{ name: string; checks: Array<{ check: string; ok: boolean; message?: string }> }>;
  changedSince?: { ref: string; all: boolean; reasons: string[]; unchanged: number };
};

const AGENTS = ["edge-1", "edge-2", "edge-3"];

let template: string;
let dir: string;

const git = (...args: string[]) =>
  execa("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);

/** The example fleet with three more agents, its CRDs and Package committed in the repository, rendered. */
beforeAll(async () => {
  template = await exampleFleetRepo();
  const spec = await readRepoFile(template, "fleet.yaml");
  const agents = AGENTS.map((a) => `  - name: ${a}\n    role: agent\n`).join("");
  await writeRepoFile(
    template,
    "fleet.yaml",
    spec.replace("  # definition: packages/prometheus.yaml", "  definition: packages/prometheus.yaml") +
      agents,
  );
  await writeRepoFile(
    template,
    "packages/prometheus.yaml",
    await readRepoFile(fixturesDir, "tce-prometheus-package-2.37.0/package.yaml"),
  );
  for (const crd of ["kapp-controller-v0.53-crds.yml", "flux-source.toolkit.fluxcd.io_gitrepositories.yaml"])
    await writeRepoFile(template, `crds/${crd}`, await readRepoFile(fixturesDir, `crds/${crd}`));
  const r = await promfleet(template, ["render"]);
  expect(r.code, r.stderr).toBe(0);
});

beforeEach(async () => {
  dir = `${template}-${Math.random().toString(36).slice(2)}`;
  await execa("cp", ["-a", template, dir]);
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-qm", "base");
});

async function validate(...extra: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await promfleet(dir, ["validate", "--crds", `${dir}/crds`, ...extra, "--json"]);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const validated = (report: Report) => report.clusters.map((c) => c.name);

/** Changes one line of a committed cluster file, as a pull request (or a hand edit) does. */
async function editCluster(cluster: string, file: string, from: string, to: string) {
  const rel = `clusters/${cluster}/${file}`;
  const text = await readRepoFile(dir, rel);
  expect(text).toContain(from);
  await writeRepoFile(dir, rel, text.replace(from, to));
}

describe("validate --changed-since", () => {
  it("validates only the cluster whose folder changed, and says so in --json", async () => {
    await editCluster(
      "edge-2",
      "values.yaml",
      "--storage.agent.retention.max-time=5m",
      "--storage.agent.retention.max-time=6m",
    );
    const { code, report } = await validate("--changed-since", "HEAD");
    expect(code).toBe(0);
    expect(validated(report)).toEqual(["edge-2"]);
    expect(report.clusters[0]?.checks.map((k) => k.check)).toEqual([
      "promtool",
      "package-schema",
      "crds",
      "crds",
    ]);
    expect(report.changedSince).toMatchObject({ ref: "HEAD", all: false, reasons: [], unchanged: 4 });
    const text = await promfleet(dir, ["validate", "--crds", `${dir}/crds`, "--changed-since", "HEAD"]);
    expect(text.stderr).toContain("validating the 1 of 5 clusters whose folder changed since HEAD");
    expect(text.stdout).toContain("ok   edge-2 promtool clusters/edge-2/values.yaml");
    expect(text.stdout).not.toContain(" kind ");
  });

  it("counts committed changes against an older ref, and a new untracked file too", async () => {
    await editCluster("edge-1", "values.yaml", "5m", "7m");
    await git("commit", "-qam", "edge-1");
    await writeRepoFile(
      dir,
      "clusters/edge-3/manifests/extra.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    const { report } = await validate("--changed-since", "HEAD~1");
    expect(validated(report)).toEqual(["edge-1", "edge-3"]);
  });

  it("counts a cluster folder never committed, staged edits and deletions", async () => {
    await git("rm", "-rq", "--cached", "clusters/edge-2");
    await git("commit", "-qm", "edge-2's folder not committed yet");
    expect(validated((await validate("--changed-since", "HEAD")).report)).toEqual(["edge-2"]);
    await git("add", "clusters/edge-2");
    await git("commit", "-qm", "edge-2's folder");
    await editCluster("edge-1", "values.yaml", "5m", "7m");
    await git("add", "clusters/edge-1/values.yaml");
    await git("rm", "-q", "clusters/edge-3/bootstrap/app.yaml");
    await rm(path.join(dir, "clusters/kind/values.yaml"));
    expect(validated((await validate("--changed-since", "HEAD")).report)).toEqual([
      "kind",
      "edge-1",
      "edge-3",
    ]);
  });

  it("leaves out files .gitignore ignores, in a cluster folder or a new folder in it", async () => {
    await writeRepoFile(dir, ".gitignore", "*.orig\nscratch/\n");
    await git("add", ".gitignore");
    await git("commit", "-qm", "ignore backups");
    await writeRepoFile(dir, "clusters/edge-1/values.yaml.orig", "a: 1\n");
    await writeRepoFile(dir, "clusters/edge-2/scratch/notes.yaml", "a: 1\n");
    const ignored = await validate("--changed-since", "HEAD");
    expect(ignored.report.clusters).toEqual([]);
    await writeRepoFile(dir, "clusters/edge-2/notes.yaml", "a: 1\n");
    expect(validated((await validate("--changed-since", "HEAD")).report)).toEqual(["edge-2"]);
  });

  it("does not count a file only touched, and leaves .git/index as it was", async () => {
    const later = new Date(Date.now() + 60_000);
    for (const cluster of ["edge-1", "edge-2"])
      await utimes(path.join(dir, "clusters", cluster, "values.yaml"), later, later);
    const index = await readFile(path.join(dir, ".git", "index"));
    const { report } = await validate("--changed-since", "HEAD");
    expect(report.clusters).toEqual([]);
    expect((await readFile(path.join(dir, ".git", "index"))).equals(index)).toBe(true);
  });

  it("reads a fleet in a folder of the repository relative to that folder", async () => {
    const repo = `${dir}-repo`;
    await execa("mkdir", ["-p", `${repo}/other`]);
    await execa("cp", ["-a", `${template}/.`, `${repo}/other`]);
    await execa("cp", ["-a", template, `${repo}/fleet`]);
    const outer = (...args: string[]) =>
      execa("git", ["-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);
    await outer("init", "-q", "-b", "main");
    await outer("add", "-A");
    await outer("commit", "-qm", "base");
    dir = `${repo}/fleet`;
    await editCluster("edge-1", "values.yaml", "5m", "7m");
    await writeRepoFile(dir, "clusters/edge-3/manifests/extra.yaml", "a: 1\n");
    await writeRepoFile(repo, "other/clusters/edge-2/manifests/extra.yaml", "a: 1\n");
    await writeRepoFile(repo, "other/package.json", "{}\n");
    await outer("add", "fleet/clusters/edge-1/values.yaml", "other/package.json");
    const { report } = await validate("--changed-since", "HEAD");
    expect(validated(report)).toEqual(["edge-1", "edge-3"]);
    expect(report.changedSince).toMatchObject({ all: false, reasons: [] });
  });

  it("validates nothing when no cluster changed", async () => {
    const { code, report } = await validate("--changed-since", "HEAD");
    expect(code).toBe(0);
    expect(report.clusters).toEqual([]);
    expect(report.changedSince?.unchanged).toBe(5);
  });

  it("validates every cluster when a CRD, the package definition or the promfleet pin changed", async () => {
    const cases: Array<[string, (text: string) => string]> = [
      ["crds/kapp-controller-v0.53-crds.yml", (t) => `${t}\n# a newer release\n`],
      ["packages/prometheus.yaml", (t) => `${t}\n# re-exported\n`],
      ["package.json", () => '{"devDependencies": {"promfleet": "0.3.0"}}\n'],
    ];
    for (const [file, edit] of cases) {
      await git("reset", "-q", "--hard");
      await git("clean", "-qfd");
      const before = await readRepoFile(dir, file).catch(() => "");
      await writeRepoFile(dir, file, edit(before));
      const { report } = await validate("--changed-since", "HEAD");
      expect(validated(report), file).toEqual(["orbstack", "kind", ...AGENTS]);
      expect(report.changedSince).toMatchObject({ all: true, reasons: [file], unchanged: 0 });
    }
  });

  it("validates every cluster when the spec names another package definition", async () => {
    await writeRepoFile(dir, "packages/other.yaml", await readRepoFile(dir, "packages/prometheus.yaml"));
    await git("add", "-A");
    await git("commit", "-qm", "a second copy, unchanged from here on");
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace("definition: packages/prometheus.yaml", "definition: packages/other.yaml"),
    );
    const { report } = await validate("--changed-since", "HEAD");
    expect(report.changedSince).toMatchObject({ all: true, reasons: ["fleet.yaml package:"] });
    expect(report.clusters).toHaveLength(5);
  });

  it("selects no cluster for a spec edit outside package:, also when package: ends the file", async () => {
    const spec = await readRepoFile(dir, "fleet.yaml");
    const start = spec.indexOf("\npackage:\n") + 1;
    const end = spec.indexOf("\n\n", start) + 1;
    const packageLast = `${spec.slice(0, start)}${spec.slice(end)}${spec.slice(start, end)}`;
    expect(packageLast.endsWith("definition: packages/prometheus.yaml\n")).toBe(true);
    await writeRepoFile(dir, "fleet.yaml", packageLast);
    await git("commit", "-qam", "package: last");
    await writeRepoFile(dir, "fleet.yaml", packageLast.replace("\ngit:\n", "\n# a comment\ngit:\n"));
    const { report } = await validate("--changed-since", "HEAD");
    expect(report.changedSince).toMatchObject({ all: false, reasons: [] });
    expect(report.clusters).toEqual([]);
  });

  it("ignores changes outside clusters/ and the watched files; a ./ path in the spec is watched too", async () => {
    await writeRepoFile(dir, "README.md", "# the fleet\n");
    await writeRepoFile(dir, "clusters-notes/edge-1/values.yaml", "a: 1\n");
    const outside = await validate("--changed-since", "HEAD");
    expect(outside.report.changedSince).toMatchObject({ all: false, reasons: [] });
    expect(outside.report.clusters).toEqual([]);
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace("definition: packages/prometheus.yaml", "definition: ./packages/prometheus.yaml"),
    );
    await git("commit", "-qam", "a ./ definition");
    const pkg = await readRepoFile(dir, "packages/prometheus.yaml");
    await writeRepoFile(dir, "packages/prometheus.yaml", `${pkg}# re-exported\n`);
    const { report } = await validate("--changed-since", "HEAD");
    expect(report.changedSince).toMatchObject({ all: true, reasons: ["packages/prometheus.yaml"] });
  });

  it("leaves a broken unchanged cluster to the full run, which reports it", async () => {
    await editCluster(
      "edge-3",
      "bootstrap/app.yaml",
      "      ref: origin/main\n",
      "      ref: origin/main\n      reff: oops\n",
    );
    await git("commit", "-qam", "broken on the default branch");
    await editCluster("edge-1", "values.yaml", "5m", "8m");
    const changed = await validate("--changed-since", "HEAD");
    expect(changed.code).toBe(0);
    expect(validated(changed.report)).toEqual(["edge-1"]);
    const full = await validate();
    expect(full.code).toBe(1);
    expect(full.report.changedSince).toBeUndefined();
    expect(full.report.clusters.find((c) => c.name === "edge-3")?.checks.find((k) => !k.ok)?.message).toBe(
      "App /spec/fetch/0/git/reff: unknown field",
    );
  });

  it("combines with --cluster, and names a ref git does not know", async () => {
    await editCluster("edge-1", "values.yaml", "5m", "9m");
    await editCluster("edge-2", "values.yaml", "5m", "9m");
    const { report } = await validate("--changed-since", "HEAD", "--cluster", "edge-2", "--cluster", "kind");
    expect(validated(report)).toEqual(["edge-2"]);
    const r = await promfleet(dir, ["validate", "--changed-since", "no-such-branch"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--changed-since no-such-branch: not a commit in");
  });
});
