/** Exit codes promfleet returns; documented in the README. */
export const ExitCode = {
  ok: 0,
  /** A check found something: drift, invalid rendered output, clusters not receiving. */
  checkFailed: 1,
  /** Bad input: fleet spec, flags, overlays. Nothing was written. */
  badInput: 2,
  /** A required tool (ytt, promtool, git) is missing or too old. */
  missingTool: 3,
  /** GitHub or another remote answered with an error. */
  remoteFailed: 4,
  /** Another promfleet is writing the same repository (its lock, .promfleet/lock). Nothing was written. */
  locked: 5,
  /** A bug in promfleet: an error it did not expect. The message says where to report it. */
  internal: 70,
} as const;

/** Where users report an error promfleet did not expect. */
export const BUG_REPORT_URL = "https://github.com/promfleet/promfleet/issues";

export interface Problem {
  /** File the problem is in, relative to the fleet repository when possible. */
  file: string;
  /** Dotted path inside the file, e.g. `clusters[1].retention`. */
  path?: string;
  line?: number;
  column?: number;
  message: string;
  fix?: string;
}

/** An error the user can fix; carries every problem found so they can fix them all at once. */
export class PromfleetError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = "PromfleetError";
  }
}

export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.column].filter((x) => x !== undefined).join(":");
  const path = p.path ? ` ${p.path}:` : "";
  const fix = p.fix ? `\n    fix: ${p.fix}` : "";
  return `${where}:${path} ${p.message}${fix}`;
}
