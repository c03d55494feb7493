/**
 * Every file init writes besides the rendered folder and the credential, with what to do when the
 * repository already has it: a repository GitHub created has a README, a .gitignore and a LICENSE.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { packageRoot } from "../util/tool.js";
import { PROMFLEET_VERSION } from "../util/version.js";
import type { InitSettings } from "./settings.js";
import { fleetWorkflows, renovateConfig } from "./workflows.js";

/**
 * exclusive: written only where there is no such file (an identical one is fine);
 * lines: the lines missing from an existing file are appended once; keep: an existing file wins.
 */
export type ExistingPolicy = "exclusive" | "lines" | "keep";

export interface ScaffoldFile {
  content: string;
  existing: ExistingPolicy;
}

const GITATTRIBUTES =
  "# Rendered by promfleet: collapsed in pull-request diffs, never edited by hand.\nclusters/** linguist-generated=true\n";
const GITIGNORE =
  "# promfleet: credentials waiting to be loaded into a cluster, staged renders; npm's install\n.promfleet/\nnode_modules/\n";
/** Inside .promfleet/ itself, so a password there is ignored whatever the repository's .gitignore says. */
const LOCAL_STATE_GITIGNORE = "*\n";
/** The review comment's template is promfleet's own (its escaping is part of the review's security). */
const NOT_COPIED_TEMPLATES = new Set(["review-comment.hbs"]);
const OVERLAYS = ["overlays/base/values.yaml", "overlays/roles/aggregator.yaml", "overlays/roles/agent.yaml"];
/** Paths that decide what every cluster runs, or what runs with write access in the workflows. */
const OWNED_PATHS = [
  "/fleet.yaml",
  "/overlays/",
  "/templates/",
  "/.github/",
  "/clusters/",
  "/package.json",
  "/package-lock.json",
  "/renovate.json", // what Renovate may update, and whether it may merge on its own
];

export async function scaffoldFiles(s: InitSettings, specText: string): Promise<Map<string, ScaffoldFile>> {
  const version = PROMFLEET_VERSION;
  const files = new Map<string, ScaffoldFile>([
    ["fleet.yaml", { content: specText, existing: "exclusive" }],
    [".gitattributes", { content: GITATTRIBUTES, existing: "lines" }],
    [".gitignore", { content: GITIGNORE, existing: "lines" }],
    [".promfleet/.gitignore", { content: LOCAL_STATE_GITIGNORE, existing: "exclusive" }],
    ["README.md", { content: await packageFile("templates/init/README.md"), existing: "keep" }],
    [".github/CODEOWNERS", { content: codeowners(s.codeowners), existing: "exclusive" }],
    ["package.json", { content: fleetPackageJson(version), existing: "exclusive" }],
  ]);
  for (const rel of OVERLAYS) files.set(rel, { content: await packageFile(rel), existing: "exclusive" });
  const pin = { repo: s.actionsRepo, version };
  for (const [name, workflow] of await fleetWorkflows(pin))
    files.set(`.github/workflows/${name}`, { content: workflow, existing: "exclusive" });
  files.set("renovate.json", { content: renovateConfig(pin), existing: "exclusive" });
  for (const name of await packageDir("templates/pr", /\.hbs$/))
    if (!NOT_COPIED_TEMPLATES.has(name))
      files.set(`templates/pr/${name}`, {
        content: await packageFile(`templates/pr/${name}`),
        existing: "exclusive",
      });
  return files;
}

function fleetPackageJson(version: string): string {
  return `${JSON.stringify({ private: true, devDependencies: { promfleet: version } }, null, 2)}\n`;
}

function codeowners(owners: string[]): string {
  const header = [
    "# Who must review a change to what the clusters run. With branch protection's",
    '# "Require review from Code Owners", nothing reaches a cluster without their approval.',
  ];
  if (owners.length > 0)
    return [...header, ...OWNED_PATHS.map((p) => `${p} ${owners.join(" ")}`), ""].join("\n");
  return [
    ...header,
    "# No owner was given to promfleet init (--codeowner @org/team): replace @OWNER/TEAM and uncomment.",
    ...OWNED_PATHS.map((p) => `# ${p} @OWNER/TEAM`),
    "",
  ].join("\n");
}

async function packageFile(rel: string): Promise<string> {
  return readFile(path.join(packageRoot, rel), "utf8");
}

async function packageDir(rel: string, pattern: RegExp): Promise<string[]> {
  const names = await readdir(path.join(packageRoot, rel)).catch(() => [] as string[]);
  return names.filter((n) => pattern.test(n)).sort();
}
