#!/usr/bin/env node
// npm run bench: renders a generated 1,000-cluster fleet and prints wall time and peak memory for
// (1) a full render, (2) a no-change re-render, (3) the naive approach, one ytt process per cluster.
// Figures are printed, never asserted. Options: --clusters N (default 1000), --runs N (default 3; each run
// renders a fresh fleet, the median is reported), --naive-sample N (default 100; the naive loop is measured
// on N clusters and extrapolated, or on all with --naive-sample 0).
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const clusters = option("--clusters", 1000);
const naiveSample = option("--naive-sample", 100);
const runs = Math.max(1, option("--runs", 3));

async function makeFleet(count) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-bench-"));
  await cp(path.join(root, "overlays"), path.join(dir, "overlays"), { recursive: true });
  const spec = await readFile(path.join(root, "fleet.yaml"), "utf8");
  const agents = Array.from(
    { length: count - 2 },
    (_, i) => `  - name: agent-${String(i).padStart(4, "0")}\n    role: agent\n`,
  ).join("");
  await writeFile(path.join(dir, "fleet.yaml"), spec + agents);
  return dir;
}

/** Runs the CLI under GNU time when present, for the peak RSS of promfleet and of its ytt child. */
async function timed(cmd, cmdArgs, env = {}) {
  const start = process.hrtime.bigint();
  const useTime = await execa("/usr/bin/time", ["--version"], { reject: false }).then(
    (r) => r.exitCode === 0,
    () => false,
  );
  const result = useTime
    ? await execa("/usr/bin/time", ["-f", "PEAK_KB=%M", cmd, ...cmdArgs], { env, reject: false })
    : await execa(cmd, cmdArgs, { env, reject: false });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peakKb = Number(/PEAK_KB=(\d+)/.exec(result.stderr)?.[1] ?? NaN);
  if (result.exitCode !== 0) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed:\n${result.stderr}`);
  return { seconds, peakMb: peakKb / 1024, stdout: result.stdout };
}

function row(label, seconds, peakMb, extra = "") {
  const mem = Number.isNaN(peakMb) ? "n/a" : `${peakMb.toFixed(0)} MiB`;
  console.log(`${label.padEnd(44)} ${seconds.toFixed(2).padStart(7)} s   peak ${mem.padStart(8)}   ${extra}`);
}

const cli = path.join(root, "bin", "promfleet.js");

/** Median and range of `runs` measurements; a single run on a shared 2-core VM varies by ±15%. */
function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}

function statRow(label, runs, extra) {
  const s = stats(runs.map((r) => r.seconds));
  const peak = Math.max(...runs.map((r) => r.peakMb));
  row(
    label,
    s.median,
    peak,
    `median of ${runs.length} (${s.min.toFixed(2)}–${s.max.toFixed(2)} s); ${extra}`,
  );
  return s.median;
}

console.log(
  `promfleet bench: ${clusters} clusters, ${os.cpus().length} cores, node ${process.version}, ${runs} runs`,
);
const fulls = [];
const agains = [];
let created = 0;
let written = 0;
for (let i = 0; i < runs; i++) {
  const dir = await makeFleet(clusters);
  try {
    const full = await timed("node", [cli, "-C", dir, "render", "--json"]);
    created = JSON.parse(full.stdout).created.length;
    const again = await timed("node", [cli, "-C", dir, "render", "--json"]);
    const summary = JSON.parse(again.stdout);
    written = summary.created.length + summary.updated.length + summary.removed.length;
    fulls.push(full);
    agains.push(again);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const fullMedian = statRow("render (ytt in 125-cluster evaluations)", fulls, `${created} files written`);
statRow("re-render, nothing changed", agains, `${written} files written`);

const dir = await makeFleet(clusters);
try {
  const { loadFleet } = await import(path.join(root, "dist", "fleet", "load.js"));
  const { readRenderInputs, renderFleet } = await import(path.join(root, "dist", "render", "render.js"));
  const { findYtt } = await import(path.join(root, "dist", "ytt", "ytt.js"));
  const spec = await loadFleet(dir);
  const ytt = await findYtt();
  const inputs = await readRenderInputs(spec);
  const sample = naiveSample > 0 ? spec.clusters.slice(0, naiveSample) : spec.clusters;
  const start = process.hrtime.bigint();
  for (const cluster of sample) await renderFleet({ ...spec, clusters: [cluster] }, inputs, ytt);
  const naiveMeasured = Number(process.hrtime.bigint() - start) / 1e9;
  const naive = (naiveMeasured * spec.clusters.length) / sample.length;
  const how =
    sample.length === spec.clusters.length
      ? "measured"
      : `measured on ${sample.length}, scaled to ${spec.clusters.length}`;
  row("naive: one ytt process per cluster", naive, NaN, how);
  console.log(`speed-up over the naive loop (median render): ${(naive / fullMedian).toFixed(1)}x`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
