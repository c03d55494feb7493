/**
 * What `validate` reports, per cluster and check: the shape of `promfleet validate --json`, which the
 * review comment reads too (import the types from here rather than restating them).
 */

export type CheckName = "values" | "promtool" | "crds" | "package-schema" | "package-bundle";

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** Repository-relative file the check read. */
  file: string;
  /** Why it failed: the tool's own message. */
  message?: string;
}

export interface ClusterReport {
  name: string;
  checks: CheckResult[];
}

export interface ValidationReport {
  ok: boolean;
  clusters: ClusterReport[];
  /**
   * With `--changed-since REF`: what was compared and why every cluster was validated (`all`, with the
   * changed inputs as `reasons`) or only the clusters in `clusters` (those whose folder changed).
   */
  changedSince?: { ref: string; commit: string; all: boolean; reasons: string[]; unchanged: number };
}
