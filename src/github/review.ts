/**
 * The review comment: what the review's untrusted inputs say, folded into one verdict and one comment.
 * Every piece of text that comes from the pull request reaches the template raw and leaves it through
 * the `md`, `code` or `html` helpers (src/util/markdown.ts); the verdict is ✅ only when every input was
 * read and says so.
 */
import { CLUSTERS_DIR } from "../layout/names.js";
import type { DiffResult, Input, RenderResult, ValidationResult } from "./review-inputs.js";

/** First line of the comment; with the author, how promfleet finds its own comment again. */
export const REVIEW_MARKER = "<!-- promfleet:review -->";

/** Longest PR-controlled text shown, and most rows per section: a comment holds at most 65,536 characters. */
const MAX_TEXT = 200;
const MAX_ROWS = 100;
const MAX_CHANGES = 20;

export interface ReviewInputs {
  render: Input<RenderResult>;
  validate: Input<ValidationResult>;
  diff: Input<DiffResult>;
  /** Folders under clusters/ at the pull request's head that are no cluster of its spec, or why that is unknown. */
  strayFolders: { folders: string[] } | { problem: string };
}

interface ValidationRow {
  cluster: string;
  check: string;
  file: string;
  ok: boolean;
  message: string;
}

export interface ReviewContext {
  ok: boolean;
  renderRead: boolean;
  validateRead: boolean;
  diffRead: boolean;
  unreadable: Array<{ input: string; problem: string }>;
  renderError?: string;
  renderProblems: string[];
  drift: string[];
  strayFolders: string[];
  clustersDir: string;
  validation: ValidationRow[];
  validationError?: string;
  diffError?: string;
  diff: Array<{ cluster: string; status: string; changes: string[] }>;
  /** Sections cut to MAX_ROWS, with how many rows were left out. */
  omitted: Array<{ section: string; count: number }>;
}

const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

const dataOf = <T>(input: Input<T>): T | undefined => ("data" in input ? input.data : undefined);

/** The template's context; PR-controlled text is clipped here and escaped by the template's helpers. */
export function reviewContext(inputs: ReviewInputs): ReviewContext {
  const [render, validation, diff] = [dataOf(inputs.render), dataOf(inputs.validate), dataOf(inputs.diff)];
  const drift = render?.error
    ? []
    : [...(render?.created ?? []), ...(render?.updated ?? []), ...(render?.removed ?? [])];
  const rows = validationRows(validation);
  const stray = "folders" in inputs.strayFolders ? inputs.strayFolders.folders : [];
  const unreadable = unreadableInputs(inputs);
  const omitted: ReviewContext["omitted"] = [];
  const cap = <T>(section: string, all: T[]): T[] => {
    if (all.length > MAX_ROWS) omitted.push({ section, count: all.length - MAX_ROWS });
    return all.slice(0, MAX_ROWS);
  };
  const context: ReviewContext = {
    ok: false,
    renderRead: render !== undefined,
    validateRead: validation !== undefined,
    diffRead: diff !== undefined,
    unreadable,
    renderError: clipped(render?.error),
    renderProblems: cap(
      "render problems",
      (render?.problems ?? []).map((p) => clip(`${p.file}${p.path ? ` ${p.path}` : ""}: ${p.message}`)),
    ),
    drift: cap("out-of-date files", drift.map(clip)),
    strayFolders: cap("folders", stray.map(clip)),
    clustersDir: CLUSTERS_DIR,
    validation: cap("validation", rows),
    validationError: clipped(validation?.error),
    diffError: clipped(diff?.error),
    diff: cap("clusters", diffRows(diff)),
    omitted,
  };
  context.ok =
    unreadable.length === 0 &&
    [render?.error, validation?.error, diff?.error].every((e) => e === undefined) &&
    drift.length === 0 &&
    stray.length === 0 &&
    validation?.ok !== false &&
    rows.every((r) => r.ok);
  return context;
}

const clipped = (text: string | undefined) => (text === undefined ? undefined : clip(text));

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

function validationRows(validation: ValidationResult | undefined): ValidationRow[] {
  return (validation?.clusters ?? []).flatMap((c) =>
    c.checks.map((k) => ({
      cluster: clip(c.name),
      check: clip(k.check),
      file: clip(k.file),
      ok: k.ok,
      message: clip(k.message ?? ""),
    })),
  );
}

function diffRows(diff: DiffResult | undefined): ReviewContext["diff"] {
  return (diff?.clusters ?? []).map((d) => ({
    cluster: clip(d.cluster),
    status: d.status,
    changes: [
      ...d.changes.slice(0, MAX_CHANGES).map(clip),
      ...(d.changes.length > MAX_CHANGES ? [`… and ${d.changes.length - MAX_CHANGES} more`] : []),
    ],
  }));
}

/** Folders under clusters/ that name no cluster of the spec. */
export function strayFolders(folders: string[], clusterNames: string[]): string[] {
  const known = new Set(clusterNames);
  return folders.filter((f) => !known.has(f)).sort();
}
