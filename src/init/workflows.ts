/**
 * promfleet's own workflows run the checkout's build; a fleet repository runs the promfleet its
 * package.json pins. This rewrites a workflow structurally (each job's steps, through the YAML
 * library, comments kept), so any workflow in .github/workflows/ can be copied; one that does not run
 * promfleet (promfleet's own CI) is not for a fleet repository, and one that needs a file only
 * promfleet's repository has is refused.
 */
import { isMap, isScalar, isSeq, parseDocument, Scalar, visit, type Document, type YAMLMap } from "yaml";

/** Where the pinned tools live on a runner, outside node_modules (npm ci replaces it): actions/cache saves it. */
export const TOOL_CACHE_DIR = "~/.cache/promfleet/tools";
/** The GitHub environment holding the aggregator's password, deployable from the default branch only. */
export const FLEET_ENVIRONMENT = "fleet-production";
const AGGREGATOR_SECRET = "secrets.PROMFLEET_AGGREGATOR_PASSWORD";
const INSTALLED = "node_modules/promfleet";
/** A path into promfleet's repository that a fleet repository does not have (after the rewrite). */
const REPOSITORY_ONLY_PATH = /(?<![\w/.~-])(?:\.\/)?(?:\.ci|bin|scripts|src|test|tools|dist)\/[\w./*-]+/;
const RUNS_PROMFLEET = /\bnode (?:\.\/)?bin\/promfleet\.js\b/;

/** The workflow as a fleet repository's, or undefined when it does not run promfleet. */
export function forFleetRepository(workflow: string, version: string): string | undefined {
  if (!RUNS_PROMFLEET.test(workflow)) return undefined;
  const doc = parseDocument(workflow);
  if (doc.errors.length > 0) throw new Error(`not a YAML workflow: ${doc.errors[0]?.message}`);
  const jobs = doc.get("jobs", true);
  if (!isMap(jobs)) throw new Error("a workflow without jobs");
  for (const { value: job } of jobs.items) {
    if (!isMap(job)) continue;
    const steps = job.get("steps", true);
    if (isSeq(steps)) for (const step of steps.items) if (isMap(step)) rewriteStep(step);
    if (readsAggregatorPassword(job)) protectWithEnvironment(doc, job);
  }
  pinCacheKeys(doc, version);
  refuseRepositoryPaths(doc);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function rewriteStep(step: YAMLMap): void {
  const uses = step.get("uses");
  const path = step.getIn(["with", "path"], true);
  if (typeof uses === "string" && uses.startsWith("actions/cache") && isScalar(path))
    if (String(path.value).includes(".tools")) path.value = TOOL_CACHE_DIR;
  const run = step.get("run", true);
  if (isScalar(run) && typeof run.value === "string") {
    const script = run.value.split("\n").flatMap(rewriteLine).join("\n");
    if (script.split("\n").length > run.value.split("\n").length) run.type = Scalar.BLOCK_LITERAL;
    run.value = script;
  }
}

/** One line of a run script, as the fleet repository's lines. */
function rewriteLine(line: string): string[] {
  const indent = /^\s*/.exec(line)?.[0] ?? "";
  if (/^\s*npm (ci|install|i)\b/.test(line)) return [`${indent}npm ci --ignore-scripts`];
  const installer = /^\s*bash (?:\.\/)?scripts\/install-tools\.sh\b(.*)$/.exec(line);
  if (installer)
    return [
      // the installer writes into <package>/.tools: point that at the cached folder
      `${indent}mkdir -p "$HOME/${TOOL_CACHE_DIR.slice(2)}"`,
      `${indent}ln -sfn "$HOME/${TOOL_CACHE_DIR.slice(2)}" ${INSTALLED}/.tools`,
      `${indent}bash ${INSTALLED}/scripts/install-tools.sh${installer[1]}`,
    ];
  // --no: run the locally installed promfleet, never fetch one from the registry
  return [line.replace(new RegExp(RUNS_PROMFLEET, "g"), "npx --no promfleet")];
}

function readsAggregatorPassword(job: YAMLMap): boolean {
  return JSON.stringify(job.toJSON()).includes(AGGREGATOR_SECRET);
}

function protectWithEnvironment(doc: Document, job: YAMLMap): void {
  if (job.has("environment")) return;
  const pair = doc.createPair("environment", FLEET_ENVIRONMENT);
  (pair.key as Scalar).commentBefore =
    ` The aggregator's password is a secret of this environment, which only the default branch may use.`;
  const runsOn = job.items.findIndex((p) => isScalar(p.key) && p.key.value === "runs-on");
  job.items.splice(runsOn + 1, 0, pair);
}

/** Cache keys hash promfleet's sources; in a fleet repository its version pins the same inputs. */
function pinCacheKeys(doc: Document, version: string): void {
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === "string" && node.value.includes("hashFiles("))
        node.value = node.value.replace(/\$\{\{\s*hashFiles\([^)]*\)\s*\}\}/g, version);
    },
  });
}

function refuseRepositoryPaths(doc: Document): void {
  visit(doc, {
    Scalar(_, node) {
      const found = typeof node.value === "string" ? REPOSITORY_ONLY_PATH.exec(node.value) : null;
      if (found)
        throw new Error(
          `a workflow refers to ${found[0]}, which a fleet repository does not have; teach forFleetRepository about it`,
        );
    },
  });
}
