/**
 * promfleet rollout: a change (a package version, a fleet-wide overlay) goes out one wave at a time, one
 * pull request per wave, each gated on verify. All state is in the base branch's spec (`rollout:`, the
 * pins and stages) and in the pull requests (found by branch): any run, repeated or not, continues right.
 */
import path from "node:path";
import type { Command } from "commander";
import { loadFleet } from "../fleet/load.js";
import type { FleetSpec } from "../fleet/spec.js";
import { snapshotBase, type BaseSnapshot } from "../github/base-snapshot.js";
import { connectGitHub, type GitHub } from "../github/client.js";
import { resolveRepo } from "../github/repo-ref.js";
import type { FileChange } from "../layout/file-change.js";
import {
  branchOf,
  describeTarget,
  nextWave,
  rolloutState,
  specAfter,
  startBlocked,
  startedClusters,
  wavesOf,
  type RolloutState,
  type RolloutStep,
  type RolloutTarget,
} from "../rollout/plan.js";
import { rolloutStatus, statusText } from "../rollout/status.js";
import { failureComment, stepBody, stepTitle, VERIFY_MARKER } from "../rollout/text.js";
import { parseDuration } from "../util/duration.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import { verifyFleet, type VerifyResult } from "../verify/index.js";
import { action, type GlobalOptions } from "./action.js";
import { planFiles, readSpec, specDiff, type SpecSource } from "./cluster-change.js";
import { carryOverlays } from "./onboard.js";
import { writingClusters } from "../receiver/receiver.js";
import { authOf, queryUrlOf, withAggregatorAuthFlags, type AggregatorAuthFlags } from "./verify.js";

interface RolloutFlags extends GlobalOptions {
  repo?: string;
  base?: string;
  dryRun?: boolean;
  json?: boolean;
}

interface StartFlags extends RolloutFlags {
  packageVersion?: string;
  overlay?: string;
}

interface ContinueFlags extends RolloutFlags, AggregatorAuthFlags {
  aggregatorUrl?: string;
  wait: string;
  settle?: string;
  maxStaleness: string;
  pollInterval: string;
}

const LABELS = ["promfleet", "rollout"];
const REPO_HELP = "repository (default: the spec's git.url)";

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command("rollout")
    .description(
      "roll a package version or a fleet-wide overlay out wave by wave, one pull request per wave",
    );
  withPullFlags(
    rollout
      .command("start")
      .description("open the pull request for the first wave")
      .option("--package-version <version>", "the package version to roll out")
      .option(
        "--overlay <file>",
        "a fleet-wide overlay to roll out (from the working tree if the base lacks it)",
      ),
  ).action(action<StartFlags>((o) => startRollout(o, createOutput(Boolean(o.json)))));
  const continueCommand = withPullFlags(
    rollout
      .command("continue")
      .description(
        "after a wave merged: wait until verify says its clusters are receiving, then open the next wave's pull request",
      )
      .option(
        "--aggregator-url <url>",
        "the aggregator's Prometheus URL (default: the spec's remoteWrite.receiver.queryUrl for an external receiver, else verify.aggregatorUrl)",
      )
      .option(
        "--settle <duration>",
        "wait this long before verifying (default: the longest sync period or Flux interval)",
      )
      .option(
        "--wait <duration>",
        "then poll verify until every cluster is receiving or this much time has passed",
        "10m",
      )
      .option("--max-staleness <duration>", "newest sample older than this is stale", "2m")
      .option("--poll-interval <duration>", "pause between verify polls", "5s"),
  );
  withAggregatorAuthFlags(continueCommand).action(
    action<ContinueFlags>((o) => continueRollout(o, createOutput(Boolean(o.json)))),
  );
  withPullFlags(
    rollout
      .command("abort")
      .description("open the pull request that returns the started waves to where they were"),
  ).action(action<RolloutFlags>((o) => abortRollout(o, createOutput(Boolean(o.json)))));
  rollout
    .command("status")
    .description(
      "which wave the rollout reached and which clusters install which version (working tree's spec)",
    )
    .option("--json", "print the result as JSON on stdout")
    .action(action<RolloutFlags>((o) => showStatus(o, createOutput(Boolean(o.json)))));
}

function withPullFlags(cmd: Command): Command {
  return cmd
    .option("--base <branch>", "branch the pull requests go into (default: the spec's git.branch)")
    .option("--repo <owner/name>", REPO_HELP)
    .option("--dry-run", "show what would be opened, push nothing")
    .option("--json", "print the result as JSON on stdout");
}

/** The base branch, read once: where the rollout's state is. */
interface OnBase {
  gh: GitHub;
  base: string;
  snapshot: BaseSnapshot;
  source: SpecSource;
}

async function onBase<T>(o: RolloutFlags, run: (b: OnBase) => Promise<T>): Promise<T> {
  const local = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const gh = await connectGitHub(await resolveRepo(o.repo, local));
  const base = o.base ?? local.git.branch;
  const snapshot = await snapshotBase(gh, base);
  try {
    return await run({ gh, base, snapshot, source: await readSpec(snapshot.dir, o.fleet) });
  } finally {
    await snapshot.cleanup();
  }
}

function targetOf(o: StartFlags): RolloutTarget {
  if (Boolean(o.packageVersion) === Boolean(o.overlay))
    throw new PromfleetError(
      "rollout start needs exactly one of --package-version <version> and --overlay <file>",
      ExitCode.badInput,
    );
  return o.packageVersion
    ? { kind: "packageVersion", version: o.packageVersion }
    : { kind: "overlay", file: path.posix.normalize(o.overlay as string) };
}

async function startRollout(o: StartFlags, out: Output): Promise<number> {
  const target = targetOf(o);
  return onBase(o, async (b) => {
    const blocked = startBlocked(b.source.before, target);
    if (blocked) return done(out, { outcome: "already-done", reason: blocked }, `already done: ${blocked}`);
    const waves = wavesOf(b.source.before);
    const carried =
      target.kind === "overlay" ? (await carryOverlays([target.file], o.dir, b.snapshot.dir)).changes : [];
    return propose(o, out, b, target, nextWave(waves, -1), carried);
  });
}

async function continueRollout(o: ContinueFlags, out: Output): Promise<number> {
  return onBase(o, async (b) => {
    const state = rolloutState(b.source.before);
    if (!state)
      return done(out, { outcome: "no-rollout" }, `no rollout under way on ${b.base}; nothing to continue`);
    const reached = state.waves[state.reached];
    const health = await verifyStarted(o, out, b.source.before, state);
    if (!health.ok) return stop(o, out, b, state, health);
    out.info(`wave ${reached?.name}: every cluster so far is receiving`);
    return propose(o, out, b, state.target, nextWave(state.waves, state.reached), []);
  });
}

async function verifyStarted(o: ContinueFlags, out: Output, spec: FleetSpec, state: RolloutState) {
  const url = queryUrlOf(o.aggregatorUrl, spec);
  if (!url)
    throw new PromfleetError(
      "rollout continue needs the aggregator to verify the wave: pass --aggregator-url or set verify.aggregatorUrl (or remoteWrite.receiver.queryUrl) in the spec",
      ExitCode.badInput,
    );
  const settle = o.settle === undefined ? longestSyncSeconds(spec) : parseDuration(o.settle, "--settle");
  if (settle > 0) {
    out.info(`waiting ${settle}s for the clusters to sync the merged wave`);
    await new Promise((r) => setTimeout(r, settle * 1000));
  }
  // as verify: a kept aggregator does not write to an external store, so it is not expected there
  const receiver = spec.remoteWrite.receiver;
  const writing = new Set(writingClusters(receiver, spec.clusters).map((c) => c.name));
  return verifyFleet({
    aggregatorUrl: url,
    receiver,
    clusters: startedClusters(spec, state).filter((name) => writing.has(name)),
    maxStalenessSeconds: parseDuration(o.maxStaleness, "--max-staleness"),
    waitSeconds: parseDuration(o.wait, "--wait"),
    pollIntervalSeconds: parseDuration(o.pollInterval, "--poll-interval"),
    auth: await authOf(o, spec.verify?.username),
    onProgress: (m) => out.info(m),
  });
}

/** How long until every cluster has pulled a merged commit: kapp-controller's sync period, Flux's interval. */
function longestSyncSeconds(spec: FleetSpec): number {
  const periods = [spec.app.syncPeriod];
  if (spec.clusters.some((c) => c.delivery === "flux")) periods.push(spec.flux.interval);
  return Math.max(...periods.map((p) => parseDuration(p, "sync period")));
}

/** A wave failed verify: no next pull request; a comment on the wave's own, naming what verify saw. */
async function stop(o: RolloutFlags, out: Output, b: OnBase, state: RolloutState, health: VerifyResult) {
  const wave = state.waves[state.reached]?.name ?? "";
  const failing = health.clusters.filter((c) => c.status !== "receiving");
  const pr = await b.gh.findMergedPull(b.base, branchOf(state.target, wave));
  const body = failureComment(state, wave, failing);
  const comment = pr && !o.dryRun ? await b.gh.ensureComment(pr.number, VERIFY_MARKER, body) : undefined;
  const names = failing.map((c) => `${c.cluster} (${c.status})`).join(", ");
  out.result(
    { outcome: "stopped", wave, failing, pr: pr?.number, comment: comment?.url },
    `rollout of ${describeTarget(state.target)} stopped after wave ${wave}: not receiving: ${names}` +
      (comment ? `\ncommented on #${pr?.number}: ${comment.url}` : ""),
  );
  return ExitCode.checkFailed;
}

async function abortRollout(o: RolloutFlags, out: Output): Promise<number> {
  return onBase(o, async (b) => {
    const state = rolloutState(b.source.before);
    if (!state)
      return done(out, { outcome: "no-rollout" }, `no rollout under way on ${b.base}; nothing to abort`);
    const next = nextWave(state.waves, state.reached);
    const open =
      next.kind === "wave"
        ? await b.gh.findOpenPull(b.base, branchOf(state.target, next.wave.name))
        : undefined;
    if (open)
      out.warn(`close pull request #${open.number} (the next wave's) without merging it: ${open.url}`);
    return propose(
      o,
      out,
      b,
      state.target,
      { kind: "abort", waves: state.waves.slice(0, state.reached + 1) },
      [],
    );
  });
}

/** The step's pull request, opened or brought up to date (found by its branch: a re-run opens no other). */
async function propose(
  o: RolloutFlags,
  out: Output,
  b: OnBase,
  target: RolloutTarget,
  step: RolloutStep,
  carried: FileChange[],
): Promise<number> {
  const text = specAfter(b.source.text, b.source.before, target, step);
  const files = await planFiles(b.source, text, carried);
  const branch = branchOf(target, step.kind === "abort" ? undefined : step.wave.name);
  const title = stepTitle(target, step, b.source.before);
  const body = stepBody(b.source.before, target, step);
  const summary = { step: step.kind === "abort" ? "abort" : step.wave.name, branch, files: files.listing };
  if (o.dryRun)
    return done(
      out,
      { ...summary, outcome: "dry-run" },
      `dry run: would push ${branch} and open "${title}"; ${specDiff(b.source.text, text)}`,
    );
  const open = await b.gh.findOpenPull(b.base, branch);
  const result = await b.gh.proposeChange(
    b.snapshot,
    { base: b.base, branch, files: files.changes, message: title, title, body, labels: LABELS },
    open,
  );
  return done(
    out,
    { ...summary, outcome: result.outcome, pr: result.pr },
    `pull request #${result.pr.number} (${result.outcome}): ${title}\n${result.pr.url}`,
  );
}

function done(out: Output, data: object, text: string): number {
  out.result(data, text);
  return ExitCode.ok;
}

async function showStatus(o: RolloutFlags, out: Output): Promise<number> {
  const status = rolloutStatus(await loadFleet(o.dir, o.fleet, { requireCredentials: false }));
  out.result(status, statusText(status));
  return ExitCode.ok;
}
