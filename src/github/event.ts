import { readFile } from "node:fs/promises";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { RepoRef } from "./client.js";

/** The workflow's event payload (GITHUB_EVENT_PATH) and repository (GITHUB_REPOSITORY). */
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

export function repoFromEnv(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): RepoRef | undefined {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(flag ?? env.GITHUB_REPOSITORY ?? "");
  return m ? { owner: m[1] as string, repo: m[2] as string } : undefined;
}
