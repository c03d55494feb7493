/** The GitHub Actions event payload (GITHUB_EVENT_PATH), when there is one. */
import { readFile } from "node:fs/promises";
import { ExitCode, PromfleetError } from "../util/errors.js";

/** The workflow's event payload (GITHUB_EVENT_PATH); {} outside a workflow. */
export async function readEvent(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  if (!env.GITHUB_EVENT_PATH) return {};
  try {
    return JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new PromfleetError(
      `cannot read the event payload ${env.GITHUB_EVENT_PATH}: ${(e as Error).message}`,
      ExitCode.badInput,
    );
  }
}
