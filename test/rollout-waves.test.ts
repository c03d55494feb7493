/**
 * promfleet rollout against the fake GitHub (every request checked against GitHub's OpenAPI), real git and
 * a real aggregator with three agents (the e2e harness): each wave's pull request is merged through the
 * fake and `rollout continue` runs as the on-merge workflow would, after record-deployments.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { e2eSkipReason } from "./support/e2e/env.js";
import { sleep } from "./support/e2e/prometheus-process.js";
import { describeWith } from "./support/prerequisites.js";
import { exampleFleetRepo, promfleet, writeRepoFile } from "./helpers/fleet-repo.js";
import { cloneBranch, type GitHubFleet } from "./helpers/github.js";
import { useRolloutFleet } from "./helpers/rollout-fleet.js";
import { WAVE_FLEET } from "./helpers/wave-fleet.js";

const OLD = "2.43.0+vmware.2-tkg.1";
const NEW = "2.45.0+vmware.1-tkg.1";
const BRANCH = (wave: string) => `promfleet/rollout-2.45.0-vmware.1-tkg.1-${wave}`;

const OVERLAY = "overlays/fleet/marker.yaml";
const OVERLAY_TEXT = [
  '#@ load("@ytt:overlay", "overlay")',
  "#@ def overlay_for(cluster):",
  "prometheus:",
  "  #@overlay/match missing_ok=True",
  '  rolloutMarker: "on"',
  "#@ end",
  "",
].join("\n");

const rollout = useRolloutFleet("waves");

/** The wave fleet, rendered, on the fake's main branch. */
const setup = (spec = WAVE_FLEET) => rollout.onFakeGitHub(spec);

async function json(run: GitHubFleet["run"], args: string[], code = 0) {
  const result = await run(["rollout", ...args, "--json"]);
  expect(result.code, result.stderr + result.stdout).toBe(code);
  return JSON.parse(result.stdout);
}

/** What the on-merge workflow runs after record-deployments, with waits short enough for a test. */
function continueArgs(maxStaleness = "15s", wait = "30s"): string[] {
  return [
    "continue",
    "--aggregator-url",
    rollout.prometheus.aggregatorUrl,
    "--settle",
    "0s",
    "--wait",
    wait,
    "--max-staleness",
    maxStaleness,
    "--poll-interval",
    "1s",
  ];
}

async function versionsOn(clone: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const name of ["orbstack", "kind", "edge-1", "edge-2"]) {
    const install = await readFile(
      path.join(clone, `clusters/${name}/manifests/package-install.yaml`),
      "utf8",
    );
    versions[name] = parse(install).spec.packageRef.versionSelection.constraints;
  }
  return versions;
}

async function treeOf(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const full = path.join(entry.parentPath, entry.name);
      files.set(path.relative(dir, full), await readFile(full, "utf8"));
    }
  return files;
}

/** rollout status on a checkout of main after wave 1: where the rollout stands, who installs what. */
async function expectStatus(clone: string): Promise<void> {
  const result = await promfleet(clone, ["rollout", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout);
  expect(status.rollout).toEqual({
    target: { kind: "packageVersion", version: NEW },
    wave: "canary",
    reached: 1,
    waves: 3,
  });
  const rows = status.waves.map(
    (w: { name: string; state: string; clusters: { name: string; version: string }[] }) => [
      w.name,
      w.state,
      w.clusters.map((c) => `${c.name}=${c.version}`),
    ],
  );
  expect(rows).toEqual([
    ["canary", "done", [`edge-1=${NEW}`]],
    ["early", "next", [`kind=${OLD}`]],
    ["rest", "pending", [`orbstack=${OLD}`, `edge-2=${OLD}`]],
  ]);
  const text = await promfleet(clone, ["rollout", "status"]);
  expect(text.stdout).toContain(`rollout of package ${NEW}: wave 1/3 (canary) merged`);
}

describe("rollout start: bad input", () => {
  it("refuses a fleet without waves and a start without one target, pushing nothing", async () => {
    const { fake, run } = await setup(WAVE_FLEET.replace(/waves:\n(?: {2}.*\n)+/, ""));
    const noWaves = await run(["rollout", "start", "--package-version", NEW]);
    expect(noWaves.code).toBe(2);
    expect(noWaves.stderr).toContain("fleet.yaml has no waves");
    expect(noWaves.stderr).toMatch(/fleet\.yaml: waves: no waves\n\s+fix: add waves/);
    const both = await run(["rollout", "start", "--package-version", NEW, "--overlay", "overlays/x.yaml"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("exactly one of --package-version <version> and --overlay <file>");
    const dry = await run(["rollout", "start", "--package-version", OLD]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`already done: the fleet already installs package ${OLD}`);
    expect(fake.pulls()).toEqual([]);
    expect(fake.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });
});

describeWith(e2eSkipReason(), "rollout in waves (fake GitHub, real Prometheus)", () => {
  it("goes through three waves with one pull request per wave, in order; re-runs open none twice", async () => {
    const { fake, run } = await setup();
    const started = await json(run, ["start", "--package-version", NEW]);
    expect(started).toMatchObject({ outcome: "created", step: "canary", branch: BRANCH("canary") });
    expect(started.files.added).toEqual([]);
    expect(started.files.removed).toEqual([]);
    // the wave's cluster and its render record; no other cluster's record
    expect([...started.files.modified].sort()).toEqual([
      "clusters/edge-1/.promfleet-render.yaml",
      "clusters/edge-1/manifests/package-install.yaml",
      "fleet.yaml",
    ]);
    expect((await json(run, ["start", "--package-version", NEW])).outcome).toBe("unchanged");
    expect((await json(run, continueArgs())).outcome).toBe("no-rollout"); // wave 1 not merged yet
    expect(fake.pulls()).toHaveLength(1);

    await fake.mergePull(1);
    expect(await versionsOn(await cloneBranch(fake, "main"))).toEqual({
      orbstack: OLD,
      kind: OLD,
      "edge-1": NEW,
      "edge-2": OLD,
    });
    expect((await json(run, ["start", "--package-version", NEW])).outcome).toBe("already-done");
    await expectStatus(await cloneBranch(fake, "main"));
    expect((await json(run, continueArgs())).outcome).toBe("created");
    expect((await json(run, continueArgs())).outcome).toBe("unchanged");

    await fake.mergePull(2);
    expect(await versionsOn(await cloneBranch(fake, "main"))).toMatchObject({ kind: NEW, "edge-2": OLD });
    const last = await json(run, continueArgs());
    expect(last.outcome).toBe("created");
    // the last wave's clusters and their records; earlier waves' clusters keep every file
    expect([...last.files.modified].sort()).toEqual([
      "clusters/edge-2/.promfleet-render.yaml",
      "clusters/edge-2/manifests/package-install.yaml",
      "clusters/orbstack/.promfleet-render.yaml",
      "clusters/orbstack/manifests/package-install.yaml",
      "fleet.yaml",
    ]);
    expect((await json(run, continueArgs())).outcome).toBe("unchanged");

    await fake.mergePull(3);
    expect((await json(run, continueArgs())).outcome).toBe("no-rollout");

    expect(fake.pulls().map((p) => [p.head, p.title, p.merged])).toEqual([
      [BRANCH("canary"), `promfleet: roll out package ${NEW} to wave canary (1/3)`, true],
      [BRANCH("early"), `promfleet: roll out package ${NEW} to wave early (2/3)`, true],
      [BRANCH("rest"), `promfleet: roll out package ${NEW} to wave rest (3/3)`, true],
    ]);
    expect(fake.pulls()[1]?.labels).toEqual(["promfleet", "rollout"]);
    const main = await cloneBranch(fake, "main");
    expect(await versionsOn(main)).toEqual({ orbstack: NEW, kind: NEW, "edge-1": NEW, "edge-2": NEW });
    const spec = parse(await readFile(path.join(main, "fleet.yaml"), "utf8"));
    expect(spec.package.version).toBe(NEW);
    expect(spec.rollout).toBeUndefined();
    expect(spec.clusters.filter((c: { package?: unknown }) => c.package)).toEqual([]);
    const check = await promfleet(main, ["render", "--check"]);
    expect(check.code, check.stdout).toBe(0);
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);

  it("abort returns the started waves: clusters/ is byte-identical to before the rollout", async () => {
    const { fake, run } = await setup();
    const before = await treeOf(path.join(await cloneBranch(fake, "main"), "clusters"));
    await json(run, ["start", "--package-version", NEW]);
    await fake.mergePull(1);
    await json(run, continueArgs());
    await fake.mergePull(2);
    await json(run, continueArgs()); // opens wave rest's pull request, which the abort leaves unmerged

    const abort = await json(run, ["abort"]);
    expect(abort).toMatchObject({ step: "abort", outcome: "created", pr: { number: 4 } });
    expect((await json(run, ["abort"])).outcome).toBe("unchanged");
    expect(fake.pulls()[3]?.title).toBe(`promfleet: abort the rollout of package ${NEW}`);
    await fake.mergePull(4);

    const main = await cloneBranch(fake, "main");
    expect(await treeOf(path.join(main, "clusters"))).toEqual(before);
    expect(parse(await readFile(path.join(main, "fleet.yaml"), "utf8")).rollout).toBeUndefined();
    expect((await json(run, ["abort"])).outcome).toBe("no-rollout");
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);

  it("rolls a fleet-wide overlay out: staged per wave, then fleet-wide, rendering as if added at once", async () => {
    const { fake, run, dir } = await setup();
    await writeRepoFile(dir, OVERLAY, OVERLAY_TEXT); // in the working tree only: start carries it
    const dry = await json(run, ["start", "--overlay", OVERLAY, "--dry-run"]);
    expect(dry).toMatchObject({
      outcome: "dry-run",
      branch: "promfleet/rollout-overlays-fleet-marker-canary",
    });
    expect(fake.pulls()).toEqual([]);
    await json(run, ["start", "--overlay", OVERLAY]);
    await fake.mergePull(1);
    const afterCanary = await cloneBranch(fake, "main");
    expect(await readFile(path.join(afterCanary, OVERLAY), "utf8")).toBe(OVERLAY_TEXT);
    const marker = async (clone: string, name: string) =>
      parse(await readFile(path.join(clone, `clusters/${name}/values.yaml`), "utf8")).prometheus
        .rolloutMarker;
    expect(await marker(afterCanary, "edge-1")).toBe("on");
    expect(await marker(afterCanary, "kind")).toBeUndefined();
    for (const pr of [2, 3]) {
      await json(run, continueArgs());
      await fake.mergePull(pr);
    }
    const main = await cloneBranch(fake, "main");
    const spec = parse(await readFile(path.join(main, "fleet.yaml"), "utf8"));
    expect(spec.overlays).toEqual([OVERLAY]);
    expect(spec.clusters.filter((c: { stagedOverlays?: unknown }) => c.stagedOverlays)).toEqual([]);
    for (const name of ["orbstack", "kind", "edge-1", "edge-2"]) expect(await marker(main, name)).toBe("on");

    // the same overlay made fleet-wide in one step renders the same clusters/
    const direct = await exampleFleetRepo();
    await writeRepoFile(direct, "fleet.yaml", `${WAVE_FLEET}overlays: [${OVERLAY}]\n`);
    await writeRepoFile(direct, OVERLAY, OVERLAY_TEXT);
    expect((await promfleet(direct, ["render"])).code).toBe(0);
    expect(await treeOf(path.join(main, "clusters"))).toEqual(await treeOf(path.join(direct, "clusters")));
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);

  it("stops when a wave's cluster stops receiving: no next pull request, one comment naming it", async () => {
    const { fake, run } = await setup();
    await json(run, ["start", "--package-version", NEW]);
    await fake.mergePull(1);
    await json(run, continueArgs());
    await fake.mergePull(2); // wave early: kind
    await rollout.prometheus.stop("kind");
    await sleep(12_000); // kind's newest sample ages past --max-staleness

    const stopped = await json(run, continueArgs("8s", "3s"), 1);
    expect(stopped).toMatchObject({ outcome: "stopped", wave: "early", pr: 2 });
    expect(stopped.failing.map((c: { cluster: string }) => c.cluster)).toEqual(["kind"]);
    await json(run, continueArgs("8s", "3s"), 1); // a re-run: same comment, still no pull request
    expect(fake.pulls()).toHaveLength(2);
    const comments = fake.comments(2);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("stopped after wave `early`");
    expect(comments[0]?.body).toMatch(/\| `kind` \| stale \| \d+s ago \|/);
    expect(comments[0]?.body).not.toContain("edge-1");
    expect(fake.validationErrors).toEqual([]);
  }, 420_000);
});
