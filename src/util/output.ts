/**
 * Progress on stderr, results on stdout (JSON with --json), colours only on a terminal; errors and bugs
 * reported.
 */
import { createColors } from "picocolors";
import { BUG_REPORT_URL, ExitCode, formatProblem, PromfleetError } from "./errors.js";

/** Colours only when stderr is a terminal and NO_COLOR is unset. */
export const color = createColors(Boolean(process.stderr.isTTY) && !process.env.NO_COLOR);

export interface Output {
  json: boolean;
  /** Progress and human-readable results go to stderr, so stdout stays data. */
  info(message: string): void;
  warn(message: string): void;
  /** Prints the command's result: JSON on stdout with --json, else the text. */
  result(data: unknown, text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    info: (m) => {
      if (!json) process.stderr.write(`${m}\n`);
    },
    warn: (m) => process.stderr.write(`${color.yellow("warning:")} ${m}\n`),
    result: (data, text) => {
      if (json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else if (text) process.stdout.write(`${text}\n`);
    },
  };
}

export function reportError(e: unknown, json: boolean): number {
  if (!(e instanceof PromfleetError)) return reportBug(e, json);
  if (json) process.stdout.write(`${JSON.stringify({ error: e.message, problems: e.problems }, null, 2)}\n`);
  process.stderr.write(`${color.red("error:")} ${e.message}\n`);
  for (const p of e.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
  return e.exitCode;
}

/**
 * An error promfleet did not expect is a bug: say so, say where to report it, and keep the stack
 * out of the way unless PROMFLEET_DEBUG asks for it.
 */
function reportBug(e: unknown, json: boolean): number {
  const message = e instanceof Error ? e.message : String(e);
  const error = `unexpected error (a bug in promfleet): ${message}`;
  if (json) process.stdout.write(`${JSON.stringify({ error, bug: true }, null, 2)}\n`);
  process.stderr.write(`${color.red("error:")} ${error}\n`);
  process.stderr.write(`  please report it at ${BUG_REPORT_URL} with the command you ran`);
  process.stderr.write(
    process.env.PROMFLEET_DEBUG
      ? `\n${(e as Error)?.stack ?? ""}\n`
      : " (PROMFLEET_DEBUG=1 prints the stack)\n",
  );
  return ExitCode.internal;
}
