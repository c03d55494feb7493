/**
 * diff in a reviewer's terms for security-relevant changes and for the pull-request comment: which
 * cluster's credential was added, rotated or removed; markdown that renders as intended on GitHub (checked
 * with a real CommonMark/GFM renderer); JSON on stdout even when the spec is broken.
 */
import { marked } from "marked";
import { describe, expect, it } from "vitest";
import { committedRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

type ClusterDiff = { cluster: string; status: string; changes: string[] };

async function diffOf(dir: string, cluster: string): Promise<string[]> {
  const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
  expect(r.code, r.stderr).toBe(0);
  const clusters = (JSON.parse(r.stdout) as { clusters: ClusterDiff[] }).clusters;
  return clusters.find((c) => c.cluster === cluster)?.changes ?? [];
}

const BCRYPT = /\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/;

describe("diff on credentials", () => {
  it("names the cluster whose credential the aggregator gains, rotates or loses, never a hash", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind"] });
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const git = await committedRepo(dir);

    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    const onboard = await diffOf(dir, "orbstack");
    expect(onboard).toEqual([
      "manifests/package-overlay.yaml: credential of cluster edge-1 added (the aggregator accepts its writes)",
    ]);
    await git("add", "-A");
    await git("commit", "-qm", "onboard edge-1");

    expect((await promfleet(dir, ["rotate-credential", "kind"])).code).toBe(0);
    const rotate = await diffOf(dir, "orbstack");
    expect(rotate).toEqual([
      "manifests/package-overlay.yaml: credential of cluster kind rotated: a new password is accepted alongside the old one until `promfleet rotate-credential kind --finish`",
    ]);
    await git("add", "-A");
    await git("commit", "-qm", "rotate kind");

    expect((await promfleet(dir, ["rotate-credential", "kind", "--finish"])).code).toBe(0);
    const finish = await diffOf(dir, "orbstack");
    expect(finish).toEqual([
      "manifests/package-overlay.yaml: credential of cluster kind: the old password is no longer accepted (rotation finished)",
    ]);
    await git("add", "-A");
    await git("commit", "-qm", "finish rotating kind");

    expect((await promfleet(dir, ["offboard-cluster", "kind"])).code).toBe(0);
    const offboard = await diffOf(dir, "orbstack");
    expect(offboard).toEqual([
      "manifests/package-overlay.yaml: credential of cluster kind removed (the aggregator no longer accepts it)",
    ]);
    for (const line of [...onboard, ...rotate, ...finish, ...offboard]) expect(line).not.toMatch(BCRYPT);
  });
});

describe("diff on SOPS-encrypted credentials", () => {
  it("names the cluster whose encrypted credential changed", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind"], sops: true });
    expect((await promfleet(dir, ["rotate-credential", "kind"])).code).toBe(0);
    expect((await promfleet(dir, ["rotate-credential", "kind", "--finish"])).code).toBe(0);
    const git = await committedRepo(dir);
    expect((await promfleet(dir, ["rotate-credential", "kind"])).code).toBe(0);
    // the agent also switches to the other credential slot (user kind.1, its Secret): see Security
    const rotate = await diffOf(dir, "kind");
    expect(rotate).toContain(
      "manifests/credentials.sops.yaml: credential of cluster kind rotated or re-encrypted (SOPS)",
    );
    for (const line of rotate) expect(line).not.toMatch(BCRYPT);
    await git("add", "-A");
    await git("commit", "-qm", "rotate");
    expect((await promfleet(dir, ["offboard-cluster", "kind"])).code).toBe(0);
    expect(await diffOf(dir, "kind")).toContain(
      "manifests/credentials.sops.yaml: credential of cluster kind removed (SOPS)",
    );
  });
});

describe("diff --format markdown on GitHub", () => {
  it("renders each cluster's <details> summary as plain text, not with markdown escapes", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind"] });
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    await committedRepo(dir);
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "markdown"]);
    expect(r.code, r.stderr).toBe(0);
    const html = await marked.parse(r.stdout, { gfm: true });
    const summaries = [...html.matchAll(/<summary>(.*?)<\/summary>/g)].map((m) => m[1]);
    expect(summaries).toEqual(["edge-1: added", "orbstack: changed"]);
    expect(html).toContain("<li>new file values.yaml</li>");
  });

  it("keeps a hostile folder name inside its summary: no HTML, no blank line ending the block", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind"] });
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    await committedRepo(dir);
    // a folder name has no "/", but may hold HTML, blank lines and mentions
    const hostile = "x<img src=x>\r\n\r\n# no changes <details><b>@admin";
    await writeRepoFile(dir, `clusters/${hostile}/values.yaml`, "a: 1\n");
    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "markdown"]);
    const html = await marked.parse(r.stdout, { gfm: true });
    expect(r.code, r.stderr).toBe(0);
    expect(html).not.toMatch(/<h1|<b>|<img|@admin/);
    expect(html.match(/<details>/g)).toHaveLength(1);
    expect(html.match(/<\/details>/g)).toHaveLength(1);
    // one summary, the name shown as text on one line (however the line ends are marked)
    expect(html).toMatch(
      /<summary>x&lt;img src=x&gt;\W*# no changes &lt;details&gt;&lt;b&gt;@\u200badmin: added<\/summary>/,
    );
  });
});

describe("diff --format json", () => {
  it("prints the error as JSON on stdout and exits 2 when the spec is broken", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind"] });
    await committedRepo(dir);
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("role: agent", "role: agnet"));
    const r = await promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { error: string; problems: { file: string; message: string }[] };
    expect(out.error).toBeTruthy();
    expect(out.problems[0]?.file).toBe("fleet.yaml");
  });
});
