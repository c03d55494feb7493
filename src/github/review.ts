/**
 * The review comment: what the review's untrusted inputs say, folded into one verdict and one comment.
 * Every piece of text that comes from the pull request reaches the template raw and leaves it through
 * the `md`, `code` or `html` helpers (src/util/markdown.ts); the verdict is ✅ only when every input was
 * read and says so.
 */
import { CLUSTERS_DIR } from "../layout/names.js";
import type { DiffResult, Input, Problem, RenderResult, ValidationResult } from "./review-inputs.js";

/** First line of the comment; with the author, how promfleet finds its own comment again. */
export const REVIEW_MARKER = "<!-- promfleet:review -->";

/** Longest PR-controlled text shown. */
const MAX_TEXT = 200;
/** Most rows per list section of the comment; the full report has them all. */
export const COMMENT_ROWS = 100;

export interface ReviewInputs {
  render: Input<RenderResult>;
  validate: Input<ValidationResult>;
  diff: Input<DiffResult>;
  /** Folders under clusters/ at the pull request's head that are no cluster of its spec, or why that is unknown. */
  strayFolders: { folders: string[] } | { problem: string };
}

export interface ReviewOptions {
  /** Most rows per list section (status table, failing checks, out-of-date files, ...). */
  rows: number;
  /** The run whose job summary and artifact hold the full report (a checked https URL). */
  reportUrl?: string;
}

interface ValidationRow {
  cluster: string;
  check: string;
  file: string;
  message: string;
}

/** One row of the status table: a cluster that fails, drifts or changes. */
interface StatusRow {
  cluster: string;
  /** "failed", "ok", or "" when validation did not run for it. */
  validation: string;
  failed: boolean;
  /** Out-of-date files under its folder. */
  drift: number;
  /** added, removed, changed, or "" when unchanged. */
  change: string;
  added?: number;
  removed?: number;
}

/** Consecutive change lines about one resource (or file): the comment is cut between these, never inside. */
interface ResourceChanges {
  changes: string[];
}

interface ClusterDetails {
  cluster: string;
  status: string;
  added?: number;
  removed?: number;
  resources: ResourceChanges[];
  /** Resources of this cluster cut from the comment. */
  cutResources: number;
}

export interface ReviewContext {
  ok: boolean;
  renderRead: boolean;
  validateRead: boolean;
  diffRead: boolean;
  /** The diff was read and has no error: a cluster it does not name does not change. */
  changesKnown: boolean;
  unreadable: Array<{ input: string; problem: string }>;
  renderError?: string;
  /** Each problem of a failed command's JSON error, as `file:line path: message (fix: …)`. */
  renderProblems: string[];
  drift: string[];
  strayFolders: string[];
  clustersDir: string;
  /** Clusters that fail validation, drift or change, worst first. */
  status: StatusRow[];
  /** Clusters that pass, do not drift and do not change: counted, not listed. */
  unchanged: number;
  /** Clusters validate --changed-since left to the default branch's full run. */
  notValidated: number;
  /** Failing checks only; passing ones are the status table's "ok". */
  validation: ValidationRow[];
  validationError?: string;
  validationProblems: string[];
  diffError?: string;
  diffProblems: string[];
  /** One collapsible section per cluster the diff changes, in the status table's order. */
  details: ClusterDetails[];
  /** Sections cut to the row limit, with how many rows were left out. */
  omitted: Array<{ section: string; count: number }>;
  /** What was cut to fit the length limit, when anything was. */
  cut?: { clusters: number; resources: number };
  reportUrl?: string;
}

const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);
const clipped = (text: string | undefined) => (text === undefined ? undefined : clip(text));

const dataOf = <T>(input: Input<T>): T | undefined => ("data" in input ? input.data : undefined);

/** The template's context; PR-controlled text is clipped here and escaped by the template's helpers. */
export function reviewContext(
  inputs: ReviewInputs,
  options: ReviewOptions = { rows: COMMENT_ROWS },
): ReviewContext {
  const [render, validation, diff] = [dataOf(inputs.render), dataOf(inputs.validate), dataOf(inputs.diff)];
  const drift = render?.error
    ? []
    : [...(render?.created ?? []), ...(render?.updated ?? []), ...(render?.removed ?? [])];
  const failing = failingChecks(validation);
  const stray = "folders" in inputs.strayFolders ? inputs.strayFolders.folders : [];
  const unreadable = unreadableInputs(inputs);
  const omitted: ReviewContext["omitted"] = [];
  const cap = <T>(section: string, all: T[]): T[] => {
    if (all.length > options.rows) omitted.push({ section, count: all.length - options.rows });
    return all.slice(0, options.rows);
  };
  const rows = statusRows(validation, diff, drift);
  const changing = rows.filter((r) => r.validation === "failed" || r.drift > 0 || r.change !== "");
  const context: ReviewContext = {
    ok: false,
    renderRead: render !== undefined,
    validateRead: validation !== undefined,
    diffRead: diff !== undefined,
    changesKnown: diff !== undefined && diff.error === undefined,
    unreadable,
    renderError: clipped(render?.error),
    renderProblems: cap("render problems", problemLines(render?.problems)),
    drift: cap("out-of-date files", drift.map(clip)),
    strayFolders: cap("folders", stray.map(clip)),
    clustersDir: CLUSTERS_DIR,
    status: cap("clusters", changing),
    unchanged: rows.length - changing.length,
    notValidated: notValidated(validation),
    validation: cap("failing checks", failing),
    validationError: clipped(validation?.error),
    validationProblems: cap("validate problems", problemLines(validation?.problems)),
    diffError: clipped(diff?.error),
    diffProblems: cap("diff problems", problemLines(diff?.problems)),
    details: clusterDetails(diff, changing),
    omitted,
    reportUrl: options.reportUrl,
  };
  context.ok =
    unreadable.length === 0 &&
    [render?.error, validation?.error, diff?.error].every((e) => e === undefined) &&
    drift.length === 0 &&
    stray.length === 0 &&
    validation?.ok !== false &&
    failing.length === 0;
  return context;
}

/** How many clusters a changed-only validation skipped (a count from an untrusted file: integers only). */
function notValidated(validation: ValidationResult | undefined): number {
  const scope = validation?.changedSince;
  const count = scope?.unchanged;
  return scope && scope.all !== true && Number.isSafeInteger(count) && (count as number) > 0
    ? (count as number)
    : 0;
}

/** Every input that could not be used, with why: each makes the review ❌. */
function unreadableInputs(inputs: ReviewInputs): ReviewContext["unreadable"] {
  const unreadable = (["render", "validate", "diff"] as const).flatMap((input) => {
    const read = inputs[input];
    return "problem" in read ? [{ input: input as string, problem: clip(read.problem) }] : [];
  });
  if ("problem" in inputs.strayFolders)
    unreadable.push({ input: `${CLUSTERS_DIR}/ folders`, problem: clip(inputs.strayFolders.problem) });
  return unreadable;
}

/** A command's problems as promfleet prints them: where (file, line, field), what, and the fix. */
function problemLines(problems: Problem[] | undefined): string[] {
  return (problems ?? []).map((p) => {
    const where = `${p.file}${p.line ? `:${p.line}` : ""}${p.path ? ` ${p.path}` : ""}`;
    return clip(`${where}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ""}`);
  });
}

function failingChecks(validation: ValidationResult | undefined): ValidationRow[] {
  return (validation?.clusters ?? []).flatMap((c) =>
    c.checks
      .filter((k) => !k.ok)
      .map((k) => ({
        cluster: clip(c.name),
        check: clip(k.check),
        file: clip(k.file),
        message: clip(k.message ?? ""),
      })),
  );
}

/** Every cluster any input names, worst first: failing validation, then drift, then changed, then the rest. */
function statusRows(
  validation: ValidationResult | undefined,
  diff: DiffResult | undefined,
  drift: string[],
): StatusRow[] {
  const rows = new Map<string, StatusRow>();
  const row = (cluster: string) => {
    const existing = rows.get(cluster);
    if (existing) return existing;
    const created: StatusRow = {
      cluster: clip(cluster),
      validation: "",
      failed: false,
      drift: 0,
      change: "",
    };
    rows.set(cluster, created);
    return created;
  };
  for (const c of validation?.clusters ?? []) {
    const failed = c.checks.some((k) => !k.ok);
    Object.assign(row(c.name), { validation: failed ? "failed" : "ok", failed });
  }
  for (const d of diff?.clusters ?? [])
    Object.assign(row(d.cluster), { change: d.status, added: d.added, removed: d.removed });
  for (const file of drift) {
    const [top, cluster, ...rest] = file.split("/");
    if (top === CLUSTERS_DIR && cluster && rest.length > 0) row(cluster).drift += 1;
  }
  return [...rows.entries()]
    .sort(([a, x], [b, y]) => rank(x) - rank(y) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r);
}

const rank = (r: StatusRow) => (r.failed ? 0 : r.drift > 0 ? 1 : r.change !== "" ? 2 : 3);

/** The diff's clusters in the status table's order, each one's changes grouped by resource. */
function clusterDetails(diff: DiffResult | undefined, order: StatusRow[]): ClusterDetails[] {
  const position = new Map(order.map((r, i) => [r.cluster, i]));
  return (diff?.clusters ?? [])
    .map((d) => ({
      cluster: clip(d.cluster),
      status: d.status,
      added: d.added,
      removed: d.removed,
      resources: byResource(d.changes.map(clip)),
      cutResources: 0,
    }))
    .sort((a, b) => (position.get(a.cluster) ?? 0) - (position.get(b.cluster) ?? 0));
}

/**
 * Consecutive lines about the same resource, as diff words them: `<file>: <Kind> <name> …` for a
 * manifest's resource, `<file>…` for a whole file, `new file <file>`/`deleted <file>`, and the package
 * values' own lines (no file named) for values.yaml.
 */
function byResource(changes: string[]): ResourceChanges[] {
  const groups: Array<{ key: string; changes: string[] }> = [];
  for (const line of changes) {
    const key = resourceOf(line);
    const last = groups.at(-1);
    if (last?.key === key) last.changes.push(line);
    else groups.push({ key, changes: [line] });
  }
  return groups.map(({ changes: lines }) => ({ changes: lines }));
}

function resourceOf(line: string): string {
  const file = /^(new file |deleted )?(\S+\.(?:ya?ml|json))(?::? |:?$)/.exec(line);
  if (!file) return "values.yaml";
  const resource = file[1] ? undefined : /^\S+ \S+/.exec(line.slice(file[0].length))?.[0];
  return resource ? `${file[2]}: ${resource}` : (file[2] as string);
}

/**
 * The context with only the first `keep` resources of the details (in order), the rest counted as cut.
 * Every kept resource is whole, so every list, fence and `<details>` the template opens is closed.
 */
export function keepResources(context: ReviewContext, keep: number): ReviewContext {
  let left = keep;
  let [cutClusters, cutResources] = [0, 0];
  const details = context.details.flatMap((d) => {
    const shown = d.resources.slice(0, Math.max(0, left));
    left -= shown.length;
    const cut = d.resources.length - shown.length;
    if (cut > 0) [cutClusters, cutResources] = [cutClusters + 1, cutResources + cut];
    return shown.length > 0 ? [{ ...d, resources: shown, cutResources: cut }] : [];
  });
  return cutResources === 0
    ? context
    : { ...context, details, cut: { clusters: cutClusters, resources: cutResources } };
}

export const resourceCount = (context: ReviewContext) =>
  context.details.reduce((n, d) => n + d.resources.length, 0);

/**
 * The longest rendering of the context that fits: everything, else the most resources (binary search
 * over how many) whose rendering `fits`; undefined when not even the rendering without any does.
 */
export async function fitToLimit(
  context: ReviewContext,
  render: (context: ReviewContext) => Promise<string>,
  fits: (text: string) => boolean,
): Promise<string | undefined> {
  const all = await render(context);
  if (fits(all)) return all;
  let [low, high, best] = [0, resourceCount(context) - 1, undefined as string | undefined];
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const text = await render(keepResources(context, middle));
    if (fits(text)) [best, low] = [text, middle + 1];
    else high = middle - 1;
  }
  return best;
}

/**
 * GitHub rejects a comment body over 65,536 characters. A string's length counts UTF-16 units, never
 * fewer than the characters GitHub counts; the margin leaves room for what GitHub itself may add.
 */
export const COMMENT_LIMIT = 60_000;
/** $GITHUB_STEP_SUMMARY takes at most 1 MiB (1,048,576 bytes) per step. */
export const SUMMARY_LIMIT_BYTES = 1_000_000;

export type RenderReview = (context: ReviewContext) => Promise<string>;

export interface ReviewDocuments {
  context: ReviewContext;
  /** The sticky comment, within COMMENT_LIMIT. */
  comment: string;
  /** For the job summary, within SUMMARY_LIMIT_BYTES. */
  summary: string;
  /** Everything, for the artifact. */
  report: string;
}

/** The comment, the job summary and the full report of one review, each cut to its own limit. */
export async function reviewDocuments(
  inputs: ReviewInputs,
  render: RenderReview,
  reportUrl?: string,
): Promise<ReviewDocuments> {
  const context = reviewContext(inputs, { rows: COMMENT_ROWS, reportUrl });
  const full = reviewContext(inputs, { rows: Number.POSITIVE_INFINITY, reportUrl });
  const marked: RenderReview = async (c) => `${REVIEW_MARKER}\n${await render(c)}`;
  const comment =
    (await fitToLimit(context, marked, (body) => body.length <= COMMENT_LIMIT)) ??
    `${REVIEW_MARKER}\n${tooLong(context, "comment")}`;
  const summary =
    (await fitToLimit(full, render, (text) => Buffer.byteLength(text) <= SUMMARY_LIMIT_BYTES)) ??
    tooLong(full, "job summary");
  return { context, comment, summary, report: await render(full) };
}

/** The last resort when even the rendering without any change is too long (a huge base-branch template). */
function tooLong(context: ReviewContext, what: string): string {
  const where = context.reportUrl ? `the artifact of [this run](${context.reportUrl})` : "`promfleet diff`";
  return `### promfleet review ${context.ok ? "✅" : "❌"}\n\nThe review is too long for a ${what}; the full report is in ${where}.\n`;
}

/** Folders under clusters/ that name no cluster of the spec. */
export function strayFolders(folders: string[], clusterNames: string[]): string[] {
  const known = new Set(clusterNames);
  return folders.filter((f) => !known.has(f)).sort();
}
