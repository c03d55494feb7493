/**
 * Loading the fleet spec: read it, parse it, check it (schema, then rules, then the limits of what reads
 * the rendered values, then the files it names) and fill in defaults. Every problem is reported at once.
 */
import path from "node:path";
import { DEFAULT_FLEET_FILE } from "./default-file.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { withDefaults } from "./defaults.js";
import { locatorFor, type Locator } from "./locate.js";
import { repoFileProblems } from "./repo-files.js";
import { credentialRule, FLEET_RULES, type Rule } from "./rules.js";
import { RUNTIME_LIMITS } from "./runtime-limits.js";
import { checkSchema } from "./schema-problems.js";
import type { RawFleet } from "./schema.js";
import { parseSpecYaml, readFleetText } from "./source.js";
import { specValueStore } from "./spec-cache.js";
import type { FleetSpec } from "./spec.js";

export { WAL_IN_CONTAINER } from "./spec.js";
export { readFleetText, SPEC_YAML_OPTIONS } from "./source.js";

export { DEFAULT_FLEET_FILE };

export interface LoadOptions {
  /** Under remoteWrite.auth basic every cluster needs a credential; commands that add one turn this off. */
  requireCredentials?: boolean;
  /** A spec's value that passed the schema (the one an edit started from): what it shares is not checked again. */
  passedSchema?: unknown;
}

/** Reads, validates and completes a fleet spec. Throws PromfleetError listing every problem. */
export async function loadFleet(
  root: string,
  file = DEFAULT_FLEET_FILE,
  options: LoadOptions = {},
): Promise<FleetSpec> {
  const spec = await readFleetText(root, file);
  return parseFleet(spec.text, root, spec.file, options);
}

export async function parseFleet(
  text: string,
  root: string,
  file: string,
  options: LoadOptions = {},
): Promise<FleetSpec> {
  const parsed = parseSpecYaml(text, file, specValueStore(path.resolve(root, file)));
  if (Array.isArray(parsed)) throw invalid(file, parsed);
  const checked = checkSchema(parsed.raw, parsed, options.passedSchema);
  if ("problems" in checked) throw invalid(file, checked.problems);
  const raw = checked.fleet;
  const at = locatorFor(parsed);
  const problems = [
    ...applyRules([...FLEET_RULES, ...RUNTIME_LIMITS], raw, at),
    ...(await repoFileProblems(raw, at, root)),
  ];
  if (problems.length === 0 && options.requireCredentials !== false)
    problems.push(...credentialRule(raw, at));
  if (problems.length > 0) throw invalid(file, problems);
  return withDefaults(raw, root, file);
}

function applyRules(rules: Rule[], raw: RawFleet, at: Locator): Problem[] {
  return rules.flatMap((rule) => rule(raw, at));
}

function invalid(file: string, problems: Problem[]): PromfleetError {
  const noun = problems.length === 1 ? "problem" : "problems";
  return new PromfleetError(
    `${file}: ${problems.length} ${noun}; nothing was written`,
    ExitCode.badInput,
    problems,
  );
}
