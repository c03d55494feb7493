/**
 * The workflows and the Renovate config init writes: the workflows call promfleet's GitHub Actions
 * (review/, review-comment/, on-merge/ in promfleet's repository) pinned to the tag of the promfleet
 * that ran init, so the actions and the package.json pin are the same release; Renovate moves them
 * together.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { packageRoot } from "../util/tool.js";

/** The GitHub environment holding the aggregator's password, deployable from the default branch only. */
export const FLEET_ENVIRONMENT = "fleet-production";
/** Where promfleet's actions live unless `init --actions-repo` names a fork or a mirror. */
export const DEFAULT_ACTIONS_REPO = "promfleet/promfleet";
/** The actions the workflows use, each a folder of promfleet's repository with an action.yml. */
export const ACTIONS = ["review", "review-comment", "on-merge"] as const;
const TEMPLATES = "templates/init/workflows";
const PLACEHOLDER = /__[A-Z_]+__/;

/** Which promfleet actions a fleet repository uses: a repository and a release of promfleet. */
export interface ActionsPin {
  repo: string;
  version: string;
}

/** `owner/name/<action>@v<version>`: an immutable release tag, never the moving major tag. */
export function actionRef(pin: ActionsPin, action: (typeof ACTIONS)[number]): string {
  return `${pin.repo}/${action}@v${pin.version}`;
}

/** The fleet repository's workflows, by file name. */
export async function fleetWorkflows(pin: ActionsPin): Promise<Map<string, string>> {
  const dir = path.join(packageRoot, TEMPLATES);
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const workflows = new Map<string, string>();
  for (const name of names)
    workflows.set(name, pinActions(await readFile(path.join(dir, name), "utf8"), pin));
  return workflows;
}

/** A workflow template with promfleet's actions pinned. */
export function pinActions(template: string, pin: ActionsPin): string {
  const pinned = template
    .replaceAll("__ACTIONS_REPO__", pin.repo)
    .replaceAll("__PROMFLEET_VERSION__", pin.version);
  const left = PLACEHOLDER.exec(pinned);
  if (left) throw new Error(`a workflow template has an unknown placeholder ${left[0]}`);
  return pinned;
}

/**
 * renovate.json: one regex manager finds the actions' pins in the workflows and looks promfleet up on
 * npm, like package.json's pin, and one group moves both in the same pull request; Renovate's own
 * github-actions manager is turned off for these pins so it never moves them alone.
 */
export function renovateConfig(pin: ActionsPin): string {
  const config = {
    $schema: "https://docs.renovatebot.com/renovate-schema.json",
    extends: ["config:recommended"],
    customManagers: [
      {
        customType: "regex",
        description: "promfleet's GitHub Actions, pinned to the promfleet release package.json pins",
        managerFilePatterns: ["/^\\.github/workflows/[^/]+\\.ya?ml$/"],
        matchStrings: [actionPinPattern(pin.repo)],
        depNameTemplate: "promfleet",
        datasourceTemplate: "npm",
      },
    ],
    packageRules: [
      {
        description: "one pull request moves the actions and package.json to the same promfleet",
        matchDepNames: ["promfleet"],
        groupName: "promfleet",
      },
      {
        description: "the actions follow promfleet's npm releases (above), never their tags alone",
        matchManagers: ["github-actions"],
        matchDepNames: [pin.repo],
        enabled: false,
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Renovate's regex (RE2, JavaScript syntax) for a pin of one of the actions; currentValue without the v. */
function actionPinPattern(repo: string): string {
  const escaped = repo.replaceAll(".", "\\."); // owner/name: letters, digits, "-", "_" and "."
  return `uses: ${escaped}/(?:${ACTIONS.join("|")})@v(?<currentValue>\\d+\\.\\d+\\.\\d+(?:-[\\w.]+)?)`;
}
