import { createColors } from "picocolors";
import { formatProblem, PromfleetError } from "./errors.js";

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
  if (!(e instanceof PromfleetError)) {
    process.stderr.write(`${color.red("error:")} ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
  if (json) process.stdout.write(`${JSON.stringify({ error: e.message, problems: e.problems }, null, 2)}\n`);
  process.stderr.write(`${color.red("error:")} ${e.message}\n`);
  for (const p of e.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
  return e.exitCode;
}
