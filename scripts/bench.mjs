#!/usr/bin/env node
// npm run bench: the fleet-scale table of issue 16, printed (never asserted). For each fleet size it
// generates a fleet repository (1 aggregator; agents with fleet-wide overlays, shared team overlays and
// their own overlays; some Flux, some `values:`), then times the CLI exactly as a user runs it:
//   full render · no-change render · render --check · onboard / offboard / rotate-credential (local) ·
//   validate (all) · validate --changed-since (one changed cluster) · diff after a fleet-wide change
// and, in the same run, the honest baseline: a plain shell loop running ytt once per cluster with the
// same overlay files promfleet applies to it, sequentially and two at a time (xargs -P2), and the file
// system's floor: `cp -r` of the rendered clusters/ (creating the same files, no rendering).
// Everything runs in os.tmpdir() ($TMPDIR): on a disk where creating files is slow the full render and the
// copy row both show it (the row's sys figure is the kernel's time).
// Each row: wall time, median of --runs, and peak RSS from GNU time's %M (the largest single process of
// the command's tree: promfleet or one of its ytt/promtool/git children).
// Options: --clusters 1000,10000 (default 1000) · --runs N (default 3) · --quick (1 run, baseline on 50
// clusters) · --baseline-sample N (default 200; clusters the loops run on, extrapolated to the fleet;
// 0 = all) · --keep (leave the generated fleets in the temporary folder) · --only ROW,ROW (row keys) ·
// --compare REF (also bench git commit REF's build, right after this build's rows, on a fleet generated
// the same way with REF's own base and role overlays: how fast the machine is today, measured on code
// whose figures are known; a row REF's CLI cannot run is printed as n/a).
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import bcrypt from "bcryptjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const opts = parseOptions(process.argv.slice(2));

function parseOptions(args) {
  const value = (name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const quick = args.includes("--quick");
  const known = new Set([
    "--clusters",
    "--runs",
    "--quick",
    "--baseline-sample",
    "--keep",
    "--only",
    "--compare",
  ]);
  const unknown = args.filter((a, i) => a.startsWith("--") && !known.has(a) && !known.has(args[i - 1]));
  if (unknown.length > 0) {
    console.error(`bench: unknown option ${unknown.join(" ")} (see the header of scripts/bench.mjs)`);
    process.exit(2);
  }
  return {
    sizes: (value("--clusters") ?? "1000").split(",").map(Number),
    runs: Math.max(1, Number(value("--runs") ?? (quick ? 1 : 3))),
    baselineSample: Number(value("--baseline-sample") ?? (quick ? 50 : 200)),
    keep: args.includes("--keep"),
    only: value("--only")?.split(","),
    compare: value("--compare"),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The generated fleet

const FLUX_EVERY = 10; // every 10th agent is delivered by Flux
const VALUES_EVERY = 4; // every 4th agent sets `values:`
const TEAM_EVERY = 5; // every 5th agent uses one of TEAMS shared overlays
const TEAMS = 10;
const OWN_OVERLAY_EVERY = 50; // every 50th agent has an overlay of its own

const agentName = (i) => `agent-${String(i).padStart(5, "0")}`;

const intervalOverlay = (interval) => `#@ def overlay_for(cluster):
prometheus:
  config:
    prometheus_yml:
      global:
        scrape_interval: ${interval}
#@ end
`;

const jobOverlay = (job, target) => `#@ load("@ytt:overlay", "overlay")
#@ def overlay_for(cluster):
prometheus:
  config:
    prometheus_yml:
      scrape_configs:
      #@overlay/append
      - job_name: ${job}
        static_configs:
        - targets: ['${target}']
#@ end
`;

function agentEntry(i, hash) {
  const name = agentName(i);
  const lines = [`  - name: ${name}`, "    role: agent"];
  if (i % FLUX_EVERY === 0) lines.push("    delivery: flux");
  const overlays = [
    ...(i % TEAM_EVERY === 0 ? [`overlays/teams/team-${i % TEAMS}.yaml`] : []),
    ...(i % OWN_OVERLAY_EVERY === 0 ? [`overlays/clusters/${name}/extra.yaml`] : []),
  ];
  if (overlays.length > 0) lines.push(`    overlays: [${overlays.join(", ")}]`);
  if (i % VALUES_EVERY === 0) lines.push('    values: { prometheus.pvc.storage: "2Gi" }');
  lines.push(`    credential: { passwordHash: "${hash}" }`);
  return lines.join("\n");
}

function fleetSpec(count, hash) {
  const agents = Array.from({ length: count - 1 }, (_, i) => agentEntry(i + 1, hash));
  return `apiVersion: promfleet.dev/v1alpha1
kind: Fleet
package:
  refName: prometheus.tanzu.vmware.com
  version: 2.43.0+vmware.2-tkg.1
git:
  url: https://github.com/example/fleet.git
remoteWrite:
  tls:
    caSecret: aggregator-ca
overlays: [overlays/fleet/interval.yaml]
clusters:
  - name: hub
    role: aggregator
    ingress: { host: prometheus.example.com }
    credential: { passwordHash: "${hash}" }
${agents.join("\n")}
`;
}

function write(dir, rel, text) {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), text);
}

/**
 * A fleet repository with `count` clusters, committed, nothing rendered yet; its base and role overlays
 * are those of the build at `source` (what that version's `init` writes), the rest is the same for all.
 */
function generateFleet(count, source = root) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `promfleet-bench-${count}-`));
  for (const sub of ["base", "roles"])
    cpSync(path.join(source, "overlays", sub), path.join(dir, "overlays", sub), { recursive: true });
  write(dir, "overlays/fleet/interval.yaml", intervalOverlay("30s"));
  for (let t = 0; t < TEAMS; t++)
    write(dir, `overlays/teams/team-${t}.yaml`, jobOverlay(`team-${t}`, `team-${t}.example.com:9100`));
  for (let i = OWN_OVERLAY_EVERY; i < count; i += OWN_OVERLAY_EVERY)
    write(
      dir,
      `overlays/clusters/${agentName(i)}/extra.yaml`,
      jobOverlay("own", `${agentName(i)}.example:9100`),
    );
  const hash = bcrypt.hashSync("bench-password", 10); // one hash for all: only its cost per cluster matters
  write(dir, "fleet.yaml", fleetSpec(count, hash));
  write(dir, ".gitignore", ".promfleet/\n");
  git(dir, "init", "-q", "-b", "main");
  // no background `git gc` while a row is timed (or while the folder is being removed: ENOTEMPTY)
  git(dir, "config", "gc.auto", "0");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "generated fleet");
  return dir;
}

function git(dir, ...args) {
  const r = spawnSync(
    "git",
    ["-C", dir, "-c", "user.email=bench@example.com", "-c", "user.name=bench", ...args],
    {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------------
// Measuring

const GNU_TIME = "/usr/bin/time";
const hasGnuTime = spawnSync(GNU_TIME, ["-f", "%M", "true"], { encoding: "utf8" }).status === 0;

/** A command of a row exited with a code the row does not expect (a bench of a failing command is noise). */
class RowFailed extends Error {}

/**
 * Runs a command under GNU time (peak RSS of its largest process, children included) and returns the wall
 * time; throws RowFailed when the exit code is not the expected one.
 */
function timed(cmd, args, { cwd, expect = [0], input } = {}) {
  const wrapped = hasGnuTime ? [GNU_TIME, ["-f", "PEAK_KB=%M CPU=%U+%S", cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const r = spawnSync(wrapped[0], wrapped[1], { cwd, input, encoding: "utf8", maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (!expect.includes(r.status))
    throw new RowFailed(
      `${cmd} ${args.join(" ")} exited ${r.status}, expected ${expect.join(" or ")}:\n${r.stderr.slice(-4000)}`,
    );
  return { seconds, ...usage(r.stderr), stdout: r.stdout, status: r.status };
}

/** GNU time's line: peak RSS (MiB) and CPU seconds (user + system, children included). */
function usage(stderr) {
  const m = /PEAK_KB=(\d+) CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
  return m
    ? { peakMb: Number(m[1]) / 1024, cpu: Number(m[2]) + Number(m[3]), sys: Number(m[3]) }
    : { peakMb: NaN, cpu: NaN, sys: NaN };
}

/** The builds benched: this checkout's, then with --compare the commit's (see buildRef). */
const THIS_BUILD = { name: "this build", root, cli: path.join(root, "bin", "promfleet.js") };
/** The build whose CLI the rows run now. */
let current = THIS_BUILD;

const promfleet = (dir, args, o = {}) => timed("node", [current.cli, "-C", dir, ...args], o);

/** `runs` measurements of `run(i)`, with `reset(i)` (untimed) after each. */
function measure(run, reset = () => {}) {
  const samples = [];
  for (let i = 0; i < opts.runs; i++) {
    samples.push(run(i));
    reset(i);
  }
  return samples;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function summary(samples, note = "") {
  const secs = samples.map((s) => s.seconds);
  return {
    seconds: median(secs),
    min: Math.min(...secs),
    max: Math.max(...secs),
    peakMb: Math.max(...samples.map((s) => s.peakMb)),
    cpu: median(samples.map((s) => s.cpu)),
    sys: median(samples.map((s) => s.sys)),
    runs: samples.length,
    note,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rows

const CRDS = path.join(root, "test", "fixtures", "crds");
const PACKAGE = path.join(root, "test", "fixtures", "tce-prometheus-package-2.37.0", "package.yaml");
const VALIDATE_ARGS = ["validate", "--crds", CRDS, "--package", PACKAGE, "--json"];

/** Copies the committed, unrendered fleet (a full render starts with no clusters/ and no record). */
function freshCopy(template) {
  const dir = mkdtempSync(`${template}-run-`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

function fullRender(template) {
  const dirs = [];
  let samples;
  try {
    samples = measure(() => {
      const dir = freshCopy(template);
      dirs.push(dir);
      return promfleet(dir, ["render", "--json"]);
    });
  } catch (e) {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    throw e;
  }
  const keep = dirs.pop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return { dir: keep, row: summary(samples, `${createdCount(samples[0].stdout)} files written`) };
}

/**
 * The file system's floor: `cp -r` of the rendered clusters/ into a new folder beside it creates the
 * same files (no rendering at all). File creation is kernel time, and on some disks it dominates.
 */
function copyFloor(dir) {
  const dests = [];
  const samples = measure(() => {
    const dest = mkdtempSync(`${dir}-copy-`);
    dests.push(dest);
    return timedShell(dir, `cp -r clusters "${dest}/clusters"`);
  });
  for (const d of dests) rmSync(d, { recursive: true, force: true });
  return summary(samples, "the same files, no rendering");
}

/** Files a render's --json output lists as created ("?" from a CLI whose output differs). */
function createdCount(stdout) {
  try {
    return JSON.parse(stdout).created.length;
  } catch {
    return "?";
  }
}

function changedFiles(stdout) {
  const s = JSON.parse(stdout);
  return s.created.length + s.updated.length + s.removed.length;
}

function noChangeRender(dir) {
  const samples = measure(() => promfleet(dir, ["render", "--json"]));
  return summary(samples, `${changedFiles(samples[0].stdout)} files written`);
}

/** render --check on an unchanged tree, then once on a hand-edited file, which it must still report. */
function renderCheck(dir, cluster) {
  const samples = measure(() => promfleet(dir, ["render", "--check", "--json"]));
  const file = path.join(dir, "clusters", cluster, "values.yaml");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, original.replace("scrape_interval: 30s", "scrape_interval: 31s"));
  const edited = promfleet(dir, ["render", "--check", "--json"], { expect: [0, 1] });
  writeFileSync(file, original);
  const caught = edited.status === 1 ? "a hand edit is reported (exit 1)" : "A HAND EDIT WAS NOT REPORTED";
  return summary(samples, caught);
}

function onboard(dir) {
  return summary(
    measure(
      (i) => promfleet(dir, ["onboard-cluster", `bench-new-${i}`]),
      (i) => promfleet(dir, ["offboard-cluster", `bench-new-${i}`]),
    ),
    "a new agent: spec entry, credential, its folder (+ the aggregator's web config)",
  );
}

function offboard(dir) {
  return summary(
    measure(
      (i) => {
        promfleet(dir, ["onboard-cluster", `bench-old-${i}`]);
        return promfleet(dir, ["offboard-cluster", `bench-old-${i}`]);
      },
      () => {},
    ),
    "spec entry, folder and credential removed",
  );
}

function rotate(dir) {
  return summary(
    measure(
      (i) => promfleet(dir, ["rotate-credential", agentName(i + 1)]),
      (i) => promfleet(dir, ["rotate-credential", agentName(i + 1), "--finish"]),
    ),
    "new password for one agent (the aggregator accepts both)",
  );
}

function validateAll(dir) {
  const samples = measure(() => promfleet(dir, VALIDATE_ARGS));
  const report = JSON.parse(samples[0].stdout);
  const checks = report.clusters.reduce((n, c) => n + c.checks.length, 0);
  return summary(
    samples,
    `${report.clusters.length} clusters, ${checks} checks (promtool, CRDs, values schema)`,
  );
}

/** One cluster's committed values edited in the working tree, as a pull request touching one cluster does. */
function validateChanged(dir, cluster) {
  const file = path.join(dir, "clusters", cluster, "values.yaml");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, original.replace("scrape_interval: 30s", "scrape_interval: 31s"));
  const samples = measure(() => promfleet(dir, [...VALIDATE_ARGS, "--changed-since", "HEAD"]));
  writeFileSync(file, original);
  const validated = JSON.parse(samples[0].stdout).clusters.map((c) => c.name);
  return summary(samples, `validated: ${validated.join(", ")}`);
}

/** The fleet-wide overlay changed and rendered (untimed), then diff against the commit before. */
function diffFleetWide(dir) {
  write(dir, "overlays/fleet/interval.yaml", intervalOverlay("45s"));
  promfleet(dir, ["render"]);
  const samples = measure(() => promfleet(dir, ["diff", "--base", "HEAD", "--format", "json"]));
  const changed = JSON.parse(samples[0].stdout).clusters.length;
  git(dir, "checkout", "-q", "--", ".");
  return summary(samples, `${changed} clusters changed`);
}

// ---------------------------------------------------------------------------------------------------------
// The baseline: a plain shell loop, one ytt process per cluster

const YTT = path.join(root, ".tools", "bin", "ytt");

/**
 * What a user writing the loop by hand needs: per overlay stack, a folder with a root template that
 * applies the files promfleet applies (base values, role, fleet-wide, the cluster's own) with
 * overlay.apply, and per cluster a data-values file with what overlays see as `cluster`.
 */
function stageBaseline(fleetDir, count) {
  const dir = path.join(fleetDir, ".bench-baseline");
  const stacks = new Map();
  const lines = [];
  for (const i of sampleIndexes(count)) {
    const c = baselineCluster(i);
    const key = c.files.join(",");
    if (!stacks.has(key)) stacks.set(key, writeStack(fleetDir, dir, stacks.size, c.files));
    write(dir, `data/${c.name}.yaml`, `cluster: ${JSON.stringify(c.values)}\n`);
    lines.push(`${c.name} ${stacks.get(key)}`);
  }
  write(dir, "list", `${lines.join("\n")}\n`);
  mkdirSync(path.join(dir, "out"), { recursive: true });
  return { dir, clusters: lines.length };
}

function sampleIndexes(count) {
  const n = opts.baselineSample > 0 ? Math.min(opts.baselineSample, count) : count;
  if (n === count) return Array.from({ length: count }, (_, i) => i);
  // the aggregator, then agents picked with a prime stride, so the sample has the fleet's mix of
  // overlays, Flux and values (an even stride would hit multiples of 5 and 10 only)
  return [0, ...Array.from({ length: n - 1 }, (_, k) => 1 + ((k * 7919) % (count - 1)))];
}

function baselineCluster(i) {
  if (i === 0) return { name: "hub", files: stackFiles("aggregator", []), values: clusterValues("hub") };
  const name = agentName(i);
  const own = [
    ...(i % TEAM_EVERY === 0 ? [`overlays/teams/team-${i % TEAMS}.yaml`] : []),
    ...(i % OWN_OVERLAY_EVERY === 0 ? [`overlays/clusters/${name}/extra.yaml`] : []),
  ];
  return { name, files: stackFiles("agent", own), values: clusterValues(name) };
}

const stackFiles = (role, own) => [
  "overlays/base/values.yaml",
  `overlays/roles/${role}.yaml`,
  "overlays/fleet/interval.yaml",
  ...own,
];

/**
 * What overlays see as `cluster` (README, "What overlays see"): promfleet's own clusterDataValues, so
 * the loop feeds ytt exactly what promfleet does (a hand-kept copy went stale when receivers added
 * `remoteWrite.headers`).
 */
let clusterValuesOf;
async function loadClusterValues(fleetDir) {
  const { loadFleet } = await import(pathToFileURL(path.join(root, "dist", "fleet", "load.js")).href);
  const { clusterDataValues } = await import(
    pathToFileURL(path.join(root, "dist", "render", "render.js")).href
  );
  const spec = await loadFleet(fleetDir);
  const byName = new Map(spec.clusters.map((c) => [c.name, c]));
  clusterValuesOf = (name) => clusterDataValues(spec, byName.get(name));
}

function clusterValues(name) {
  return clusterValuesOf(name);
}

function writeStack(fleetDir, dir, n, files) {
  const stack = path.join(dir, "stacks", String(n));
  files.forEach((f, k) => cpSync(path.join(fleetDir, f), path.join(stack, `m${k}.lib.yaml`)));
  const loads = files.map(
    (_, k) => `#@ load("m${k}.lib.yaml", f${k}="${k === 0 ? "values" : "overlay_for"}")`,
  );
  const overlays = files.slice(1).map((_, k) => `f${k + 1}(c)`);
  write(stack, "schema.yaml", "#@data/values-schema\n---\n#@schema/type any=True\ncluster: {}\n");
  write(
    stack,
    "root.yaml",
    `#@ load("@ytt:data", "data")\n#@ load("@ytt:overlay", "overlay")\n${loads.join("\n")}\n#@ c = data.values.cluster\n--- #@ overlay.apply(f0(c), ${overlays.join(", ")})\n`,
  );
  return stack;
}

const LOOP = `while read -r c s; do "$YTT" -f "$s" --data-values-file "data/$c.yaml" > "out/$c.yaml" || exit 1; done < list`;
const XARGS = `xargs -P2 -n2 sh -c '"$YTT" -f "$1" --data-values-file "data/$0.yaml" > "out/$0.yaml"' < list`;

function baseline(stage, count, script) {
  const samples = measure(() => timedShell(stage.dir, script));
  const scale = count / stage.clusters;
  const scaled = samples.map((s) => ({ ...s, seconds: s.seconds * scale, cpu: s.cpu * scale }));
  const how =
    scale === 1
      ? "measured on every cluster"
      : `measured on ${stage.clusters} clusters, extrapolated ×${scale.toFixed(1)}`;
  return summary(scaled, `ytt only (no YAML files, no resources); ${how}`);
}

function timedShell(cwd, script) {
  const env = { ...process.env, YTT };
  const wrapped = hasGnuTime
    ? [GNU_TIME, ["-f", "PEAK_KB=%M CPU=%U+%S", "sh", "-c", script]]
    : ["sh", ["-c", script]];
  const start = process.hrtime.bigint();
  const r = spawnSync(wrapped[0], wrapped[1], { cwd, env, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new RowFailed(`the baseline loop failed:\n${r.stderr.slice(-4000)}`);
  return { seconds, ...usage(r.stderr) };
}

// ---------------------------------------------------------------------------------------------------------
// Table

const ROWS = [
  ["full", "full render"],
  ["nochange", "no-change render"],
  ["check", "`render --check`"],
  ["onboard", "`onboard-cluster` (local)"],
  ["offboard", "`offboard-cluster` (local)"],
  ["rotate", "`rotate-credential` (local)"],
  ["validate", "`validate` (all clusters)"],
  ["changed", "`validate --changed-since` (1 changed cluster)"],
  ["diff", "`diff` after a fleet-wide change"],
  ["copy", "baseline: `cp -r` of the rendered clusters/ (file creation alone)"],
  ["loop", "baseline: shell loop, one ytt per cluster"],
  ["xargs", "baseline: the same loop two at a time (`xargs -P2`)"],
];

const want = (key) => !opts.only || opts.only.includes(key) || key === "full";

/** Every row for each build on one generated fleet of `count` clusters: size -> build name -> row key -> row. */
async function benchSize(count, builds) {
  const byBuild = new Map();
  const dirs = [];
  let rendered;
  for (const build of builds) {
    current = build;
    log(`\n== ${count} clusters, ${build.name}: generating the fleet`);
    const template = generateFleet(count, build.root);
    dirs.push(template);
    const { results, dir } = benchRows(template, count, build);
    byBuild.set(build.name, results);
    if (dir) dirs.push(dir);
    rendered ??= dir;
  }
  current = THIS_BUILD;
  const own = byBuild.get(THIS_BUILD.name);
  const step = stepper(own, THIS_BUILD);
  if (rendered && (want("loop") || want("xargs"))) {
    await loadClusterValues(rendered);
    const stage = stageBaseline(rendered, count);
    step("loop", () => baseline(stage, count, LOOP));
    step("xargs", () => baseline(stage, count, XARGS));
  }
  if (!opts.keep) for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
  else log(`   kept ${dirs.join(" and ")}`);
  return byBuild;
}

/**
 * Runs a row and prints it as it comes, so a failing later row does not lose the earlier ones. A row that
 * fails stops the bench for this build; for a --compare build it is recorded as failed (its CLI may not
 * have the command yet) and `undo` puts the fleet back for the next row.
 */
function stepper(results, build, undo = () => {}) {
  return (key, fn) => {
    if (!want(key)) return undefined;
    log(`   ${key}…`);
    let r;
    try {
      r = fn();
    } catch (e) {
      const first = String(e.message ?? e).split("\n")[0];
      if (build === THIS_BUILD)
        throw new Error(`bench: ${key}: ${e instanceof RowFailed ? e.message : (e.stack ?? e)}`, {
          cause: e,
        });
      log(`   ${key}: n/a for ${build.name} (${first})`);
      results.set(key, { failed: first });
      undo();
      return undefined;
    }
    results.set(key, r);
    log(
      `   ${key}: ${secs(r.seconds)} s (CPU ${secs(r.cpu)} s, sys ${secs(r.sys)} s), ${mib(r.peakMb)}; ${r.note}`,
    );
    return r;
  };
}

/** One build's rows on a fresh copy of the fleet; `dir` is that copy, rendered (undefined if it failed). */
function benchRows(template, count, build) {
  const results = new Map();
  let dir;
  const step = stepper(results, build, () => dir && resetFleet(dir));
  step("full", () => {
    const r = fullRender(template);
    dir = r.dir;
    return r.row;
  });
  if (!dir) return { results, dir };
  if (build === THIS_BUILD) step("copy", () => copyFloor(dir));
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "rendered");
  const probe = agentName(count > 3 ? 3 : 1);
  step("nochange", () => noChangeRender(dir));
  step("check", () => renderCheck(dir, probe));
  step("onboard", () => onboard(dir));
  step("offboard", () => offboard(dir));
  step("rotate", () => rotate(dir));
  resetFleet(dir);
  step("validate", () => validateAll(dir));
  step("changed", () => validateChanged(dir, probe));
  step("diff", () => diffFleetWide(dir));
  return { results, dir };
}

/** Back to the committed, rendered fleet: what a row changed in the working tree is undone. */
function resetFleet(dir) {
  git(dir, "reset", "-q", "--hard");
  git(dir, "clean", "-qfd", "--", "clusters");
}

/**
 * --compare REF: REF checked out in a temporary git worktree, sharing this checkout's node_modules and
 * .tools (a commit whose dependencies differ fails to build, and says so), and built with its own
 * `npm run build`.
 */
function buildRef(ref) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "promfleet-bench-ref-"));
  log(`building ${ref} in ${dir}`);
  try {
    git(root, "worktree", "add", "-q", "--detach", dir, ref);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`bench: --compare ${ref}: not a commit of this repository\n${e.message}`);
    process.exit(2);
  }
  const build = { name: ref, root: dir, cli: path.join(dir, "bin", "promfleet.js") };
  for (const shared of ["node_modules", ".tools"])
    if (existsSync(path.join(root, shared))) symlinkSync(path.join(root, shared), path.join(dir, shared));
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0 || !existsSync(build.cli)) {
    console.error(`bench: building ${ref} failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-4000)}`);
    removeRef(build);
    process.exit(1);
  }
  return build;
}

function removeRef(build) {
  git(root, "worktree", "remove", "--force", build.root);
}

const log = (line) => process.stderr.write(`${line}\n`);
const secs = (s) => (s < 10 ? s.toFixed(2) : s.toFixed(1));
const mib = (m) => (Number.isNaN(m) ? "n/a" : `${m.toFixed(0)} MiB`);

/** One column per size and build: this build's first, then the --compare build's. */
function printTable(bySize) {
  const columns = [...bySize].flatMap(([n, byBuild]) => [...byBuild.keys()].map((build) => ({ n, build })));
  const title = ({ n, build }) =>
    `${n.toLocaleString("en")} clusters${build === THIS_BUILD.name ? "" : `, ${build}`}`;
  console.log(`| operation | ${columns.map(title).join(" | ")} |`);
  console.log(`| --- | ${columns.map(() => "---").join(" | ")} |`);
  for (const [key, label] of ROWS) {
    const cells = columns.map(({ n, build }) => cell(bySize.get(n).get(build).get(key)));
    if (cells.some((c) => c !== "—")) console.log(`| ${label} | ${cells.join(" | ")} |`);
  }
  console.log("");
  for (const [n, byBuild] of bySize) {
    const rows = byBuild.get(THIS_BUILD.name);
    for (const [key, label] of ROWS)
      if (rows.get(key)?.note) console.log(`${n}: ${label}: ${rows.get(key).note}`);
    const full = rows.get("full")?.seconds;
    for (const key of ["loop", "xargs"])
      if (full && rows.get(key))
        console.log(
          `${n}: full render is ${(rows.get(key).seconds / full).toFixed(1)}× faster than the ${key === "loop" ? "sequential" : "2-way parallel"} loop`,
        );
    for (const [build, other] of byBuild) {
      if (build === THIS_BUILD.name) continue;
      for (const [key, label] of ROWS) {
        const mine = rows.get(key)?.seconds;
        const theirs = other.get(key)?.seconds;
        if (mine && theirs)
          console.log(`${n}: ${label}: ${(mine / theirs).toFixed(2)}× the time of ${build}`);
      }
    }
  }
}

function cell(r) {
  if (!r) return "—";
  if (r.failed) return "n/a";
  return `${secs(r.seconds)} s (${secs(r.min)}–${secs(r.max)}; CPU ${secs(r.cpu)} s, sys ${secs(r.sys)}), ${mib(r.peakMb)}`;
}

if (!existsSync(path.join(root, "dist", "cli.js"))) {
  console.error("bench: dist/ is missing: run npm run build (npm run bench does)");
  process.exit(2);
}
const cpus = os.cpus();
console.log(
  `promfleet bench: ${cpus.length} × ${cpus[0]?.model ?? "cpu"}, node ${process.version}, median of ${opts.runs} run(s), ` +
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}, temporary folder ${os.tmpdir()}`,
);
const builds = [THIS_BUILD];
if (opts.compare) builds.push(buildRef(opts.compare));
const bySize = new Map();
try {
  for (const n of opts.sizes) bySize.set(n, await benchSize(n, builds));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  builds.slice(1).forEach(removeRef);
}
if (process.exitCode) process.exit();
console.log("");
printTable(bySize);
