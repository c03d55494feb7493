import { execa } from "execa";
import { beforeEach, describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

type ClusterDiff = { cluster: string; status: string; changes: string[] };

let dir: string;
const git = (...args: string[]) =>
  execa("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);

beforeEach(async () => {
  dir = await exampleFleetRepo();
  await promfleet(dir, ["render"]);
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-qm", "base");
});

async function diffJson(args = ["--base", "HEAD"]): Promise<ClusterDiff[]> {
  const r = await promfleet(dir, ["diff", ...args, "--format", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { clusters: ClusterDiff[] }).clusters;
}

async function diffText(format: "text" | "markdown"): Promise<string> {
  const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", format]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const changesOf = (d: ClusterDiff[], cluster: string) => d.find((c) => c.cluster === cluster)?.changes ?? [];

async function editSpec(edit: (s: string) => string) {
  await writeRepoFile(dir, "fleet.yaml", edit(await readRepoFile(dir, "fleet.yaml")));
  const r = await promfleet(dir, ["render"]);
  expect(r.code, r.stderr).toBe(0);
}

/** A fleet-wide overlay (ytt, `overlay_for(cluster)`), added to fleet.yaml and rendered. */
async function addFleetOverlay(body: string) {
  await writeRepoFile(dir, "overlays/fleet/change.yaml", `#@ def overlay_for(cluster):\n${body}#@ end\n`);
  await editSpec((s) => `${s}overlays: [overlays/fleet/change.yaml]\n`);
}

describe("promfleet diff", () => {
  it("shows nothing when nothing changed", async () => {
    expect(await diffJson()).toEqual([]);
    expect(await diffText("text")).toBe("no cluster changes");
    expect(await diffText("markdown")).toBe("No cluster changes.");
  });

  it("names an added and a removed cluster", async () => {
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    await git("add", "-A");
    await git("commit", "-qm", "onboard edge-1");
    expect((await promfleet(dir, ["offboard-cluster", "kind"])).code).toBe(0);
    const d = await diffJson(["--base", "HEAD~1"]);
    expect(d.map((c) => [c.cluster, c.status])).toEqual([
      ["edge-1", "added"],
      ["kind", "removed"],
    ]);
    expect(d[0]?.changes).toContain("new file values.yaml");
    expect(d[1]?.changes).toContain("deleted bootstrap/app.yaml");
  });

  it("describes a retention change as retention, not as two args", async () => {
    await editSpec((s) =>
      s.replace("retention: 42d", "retention: 30d").replace("retention: 5m", "retention: 10m"),
    );
    const d = await diffJson();
    expect(changesOf(d, "orbstack")).toEqual([
      "retention 42d → 30d (--storage.tsdb.retention.time)",
      "manifests/values-secret.yaml: carries the new values.yaml",
    ]);
    expect(changesOf(d, "kind")[0]).toBe("retention 5m → 10m (--storage.agent.retention.max-time)");
  });

  it("lists container args added and removed, a repeated one too", async () => {
    await addFleetOverlay(
      [
        "prometheus:",
        "  deployment:",
        "    containers:",
        "      args:",
        '      #@overlay/match by=lambda i, l, r: l.startswith("--enable-feature=exemplar")',
        "      #@overlay/remove",
        "      -",
        "      #@overlay/append",
        "      - --web.enable-lifecycle",
        "",
      ].join("\n"),
    );
    const d = await diffJson();
    expect(changesOf(d, "orbstack").slice(0, 2)).toEqual([
      "container arg --web.enable-lifecycle added",
      "container arg --enable-feature=exemplar-storage removed",
    ]);
    expect(changesOf(d, "kind").slice(0, 2)).toEqual(changesOf(d, "orbstack").slice(0, 2));
  });

  it("describes scrape jobs added, removed and changed by job_name", async () => {
    await addFleetOverlay(
      [
        "prometheus:",
        "  config:",
        "    prometheus_yml:",
        "      scrape_configs:",
        '      #@overlay/match by="job_name"',
        "      - job_name: kube-state-metrics",
        "        #@overlay/match missing_ok=True",
        "        scrape_interval: 15s",
        '      #@overlay/match by="job_name"',
        "      #@overlay/remove",
        "      - job_name: kubernetes-apiservers",
        "      #@overlay/append",
        "      - job_name: node-exporter",
        "        static_configs: [{targets: [node-exporter:9100]}]",
        "",
      ].join("\n"),
    );
    const kind = changesOf(await diffJson(), "kind");
    expect(kind.slice(0, 3)).toEqual([
      "scrape job node-exporter added",
      "scrape job kubernetes-apiservers removed",
      "scrape job kube-state-metrics changed: scrape_interval",
    ]);
  });

  it("describes remote_write, external labels, PVC size and other values", async () => {
    await editSpec((s) =>
      s
        .replace(
          "  - name: kind\n",
          '  - name: kind\n    values: {"prometheus.pvc.storage": 2Gi, "prometheus.config.prometheus_yml.global.external_labels.region": eu, "prometheus.config.prometheus_yml.global.scrape_interval": 30s, "pushgateway.deployment.replicas": 1}\n',
        )
        .replace("remoteWrite:\n", "remoteWrite:\n  url: https://other.example.com/api/v1/write\n"),
    );
    expect(changesOf(await diffJson(), "kind")).toEqual([
      "PVC size 1Gi → 2Gi",
      "remote_write to https://other.example.com/api/v1/write added",
      "remote_write to https://prometheus.192-168-194-146.sslip.io/api/v1/write removed",
      'external labels: {"cluster":"kind"} → {"cluster":"kind","region":"eu"}',
      "prometheus.yml global.scrape_interval: 1m → 30s",
      "value pushgateway.deployment.replicas: 0 → 1",
      "manifests/values-secret.yaml: carries the new values.yaml",
    ]);
  });

  it("names the PackageInstall version and the App's source", async () => {
    await editSpec((s) =>
      s
        .replace("version: 2.43.0+vmware.2-tkg.1", "version: 2.45.0+vmware.1-tkg.1")
        .replace("branch: main", "branch: prod"),
    );
    expect(changesOf(await diffJson(), "kind")).toEqual([
      "bootstrap/app.yaml: App promfleet-kind source: https://github.com/example/promfleet.git@origin/main clusters/kind/manifests → https://github.com/example/promfleet.git@origin/prod clusters/kind/manifests",
      "manifests/package-install.yaml: PackageInstall prometheus version: 2.43.0+vmware.2-tkg.1 → 2.45.0+vmware.1-tkg.1",
    ]);
  });

  it("shows a delivery switch as exactly the swap of bootstrap files", async () => {
    await editSpec((s) => s.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"));
    const diff = await diffJson();
    // git's own line counts of the same change: "<added>\t<removed>\t<path>" per file; the render record
    // is bookkeeping, not something the cluster applies, so neither side counts it
    await git("add", "-A");
    const numstat = (
      await git(
        "diff",
        "--cached",
        "--numstat",
        "HEAD",
        "--",
        "clusters/kind",
        ":!clusters/kind/.promfleet-render.yaml",
      )
    ).stdout;
    const sum = (column: number) =>
      numstat.split("\n").reduce((n, line) => n + Number(line.split("\t")[column]), 0);
    expect(diff).toEqual([
      {
        cluster: "kind",
        status: "changed",
        changes: [
          "deleted bootstrap/app.yaml",
          "new file bootstrap/flux.yaml",
          "new file kustomization.yaml",
        ],
        added: sum(0),
        removed: sum(1),
      },
    ]);
  });

  it("renders a markdown table for the pull-request comment, escaping names", async () => {
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    const md = await diffText("markdown");
    expect(md).toContain("| `edge-1` | added | 5 |");
    expect(md).toContain("<details><summary>edge-1: added</summary>");
    const bad = await promfleet(dir, ["diff", "--format", "yaml"]);
    expect(bad.code).toBe(2);
  });

  it("compares with the merge base of origin/<branch> by default, else HEAD", async () => {
    await editSpec((s) => s.replace("retention: 42d", "retention: 30d"));
    await git("commit", "-qam", "retention");
    expect(await diffJson([])).toEqual([]);
    await git("update-ref", "refs/remotes/origin/main", "HEAD~1");
    expect(changesOf(await diffJson([]), "orbstack")[0]).toBe(
      "retention 42d → 30d (--storage.tsdb.retention.time)",
    );
  });

  it("rejects a --base that is not a commit, naming it", async () => {
    for (const base of ["no-such-ref", "--output=/tmp/x"]) {
      const r = await promfleet(dir, ["diff", `--base=${base}`]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--base ${base}: not a commit`);
    }
  });
});
