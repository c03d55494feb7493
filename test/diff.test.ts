import { execa } from "execa";
import { beforeEach, describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

let dir: string;
const git = (...args: string[]) =>
  execa("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);

beforeEach(async () => {
  dir = await exampleFleetRepo();
  await promfleet(dir, ["render"]);
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "base");
});

async function diff(format = "json") {
  const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", format]);
  expect(r.code, r.stderr).toBe(0);
  return format === "json"
    ? (JSON.parse(r.stdout).clusters as Array<{ cluster: string; status: string; changes: string[] }>)
    : r.stdout;
}

async function editSpec(edit: (s: string) => string) {
  await writeRepoFile(dir, "fleet.yaml", edit(await readRepoFile(dir, "fleet.yaml")));
  expect((await promfleet(dir, ["render"])).code).toBe(0);
}

describe("promfleet diff", () => {
  it("shows nothing when nothing changed", async () => {
    expect(await diff()).toEqual([]);
    expect(await diff("text")).toBe("no cluster changes");
  });

  it("names an added and a removed cluster", async () => {
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    expect((await promfleet(dir, ["offboard-cluster", "kind"])).code).toBe(0);
    const d = await diff();
    expect(d.map((c) => [c.cluster, c.status])).toEqual([
      ["edge-1", "added"],
      ["kind", "removed"],
    ]);
    expect(d[0]?.changes).toContain("new file values.yaml");
  });

  it("says what changed inside a cluster: args, scrape jobs, remote_write, external labels, values", async () => {
    await editSpec((s) =>
      s
        .replace("retention: 42d", "retention: 30d")
        .replace(
          "  - name: kind\n",
          '  - name: kind\n    values: {"prometheus.pvc.storage": 2Gi, "prometheus.config.prometheus_yml.global.external_labels.region": eu}\n',
        )
        .replace("remoteWrite:\n", "remoteWrite:\n  url: https://other.example.com/api/v1/write\n"),
    );
    await writeRepoFile(
      dir,
      "overlays/fleet/job.yaml",
      '#@ def overlay_for(cluster):\nprometheus:\n  config:\n    prometheus_yml:\n      scrape_configs:\n      #@overlay/match by="job_name"\n      - job_name: kube-state-metrics\n        #@overlay/match missing_ok=True\n        scrape_interval: 15s\n#@ end\n',
    );
    await editSpec((s) => s + "overlays: [overlays/fleet/job.yaml]\n");
    const d = await diff();
    const orbstack = d.find((c) => c.cluster === "orbstack")?.changes ?? [];
    const kind = d.find((c) => c.cluster === "kind")?.changes ?? [];
    expect(orbstack).toContain("container arg --storage.tsdb.retention.time=30d added");
    expect(orbstack).toContain("container arg --storage.tsdb.retention.time=42d removed");
    expect(orbstack).toContain("scrape job kube-state-metrics changed: scrape_interval");
    expect(kind).toEqual(
      expect.arrayContaining([
        "scrape job kube-state-metrics changed: scrape_interval",
        "remote_write to https://other.example.com/api/v1/write added",
        "remote_write to https://prometheus.192-168-194-146.sslip.io/api/v1/write removed",
        'external labels: {"cluster":"kind"} → {"cluster":"kind","region":"eu"}',
        'value prometheus.pvc.storage: "1Gi" → "2Gi"',
        "manifests/values-secret.yaml: carries the new values.yaml",
      ]),
    );
  });

  it("shows a delivery switch as exactly the swap of bootstrap files", async () => {
    await editSpec((s) => s.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"));
    const [kind] = await diff();
    expect(kind).toEqual({
      cluster: "kind",
      status: "changed",
      changes: ["deleted bootstrap/app.yaml", "new file bootstrap/flux.yaml", "new file kustomization.yaml"],
    });
  });

  it("renders a markdown table for the pull-request comment, escaping names", async () => {
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    const md = (await diff("markdown")) as string;
    expect(md).toContain("| `edge-1` | added | 5 |");
    expect(md).toContain("<details><summary>edge\\-1: added</summary>");
    const bad = await promfleet(dir, ["diff", "--format", "yaml"]);
    expect(bad.code).toBe(2);
  });
});
