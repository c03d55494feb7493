/** validate's orchestration: every check for every selected cluster, in one report. */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { mapBounded } from "../util/pool.js";
import type { Tool } from "../util/tool.js";
import { findYtt } from "../ytt/ytt.js";
import { bundleTemplates, checkBundle } from "./bundle.js";
import type { CrdValidator, KubeResource } from "./crd.js";
import { loadValuesSchema, valuesSchemaProblem, type PackageDefinition } from "./package-schema.js";
import { checkPrometheusConfigs, findPromtool, type ConfigCheck } from "./promtool.js";
import type { CheckName, CheckResult, ValidationReport } from "./report.js";
import { readClusterValues, ruleFilesOf, type PackageValues } from "./values.js";

export interface ValidateOptions {
  /** CRDs to check kapp-controller and Flux resources against; no CRD check without. */
  crds?: CrdValidator;
  /** A Package resource whose spec.valuesSchema.openAPIv3 the values must satisfy. */
  packageFile?: PackageDefinition;
  /** The package bundle (its config/ holds the ytt templates kapp-controller renders). */
  packageBundle?: string;
  /** Only these clusters; every cluster when empty. */
  clusters?: string[];
}

/** promtool and ytt are processes of their own: two at a time keeps a 2-core runner responsive. */
const CHECK_CONCURRENCY = 2;

interface Checkers {
  promtool: Tool;
  crds?: CrdValidator;
  valuesSchema?: ValidateFunction;
  bundle?: { ytt: Tool; templates: string };
}

type Task = { cluster: string; run: () => Promise<CheckResult[]> };
/** A cluster's config for the batched promtool run. */
type PromtoolInput = { cluster: string; file: string; check: ConfigCheck };

/**
 * Validates what is committed in clusters/<name>/, which is what kapp-controller or Flux deploys (whether
 * it matches fleet.yaml is `render --check`'s job). Checks run concurrently, results keep a fixed order.
 */
export async function validateFleet(spec: FleetSpec, o: ValidateOptions): Promise<ValidationReport> {
  const selected = selectClusters(spec, o.clusters ?? []);
  const checkers: Checkers = {
    promtool: await findPromtool(),
    crds: o.crds,
    valuesSchema: o.packageFile ? await loadValuesSchema(o.packageFile) : undefined,
    bundle: o.packageBundle
      ? { ytt: await findYtt(), templates: bundleTemplates(o.packageBundle) }
      : undefined,
  };
  const promtoolInputs: PromtoolInput[] = [];
  const tasks = (
    await Promise.all(selected.map((c) => clusterTasks(spec.root, c, checkers, promtoolInputs)))
  ).flat();
  const [results, promtool] = await Promise.all([
    mapBounded(tasks, CHECK_CONCURRENCY, (t) => t.run()),
    promtoolResults(checkers.promtool, promtoolInputs),
  ]);
  const clusters = selected.map((c) => ({
    name: c.name,
    checks: [
      ...promtool.filter((_, i) => promtoolInputs[i]?.cluster === c.name),
      ...tasks.flatMap((t, i) => (t.cluster === c.name ? (results[i] ?? []) : [])),
    ],
  }));
  return { ok: clusters.every((c) => c.checks.every((k) => k.ok)), clusters };
}

function selectClusters(spec: FleetSpec, names: string[]): ClusterSpec[] {
  const unknown = names.filter((n) => !spec.clusters.some((c) => c.name === n));
  if (unknown.length > 0)
    throw new PromfleetError(
      `--cluster ${unknown.join(", ")}: not in ${spec.file} (clusters: ${spec.clusters.map((c) => c.name).join(", ")})`,
      ExitCode.badInput,
    );
  return spec.clusters.filter((c) => names.length === 0 || names.includes(c.name));
}

/** Folders in clusters/ that the fleet spec does not list: deployed by nothing promfleet checks. */
export async function unlistedClusterFolders(spec: FleetSpec): Promise<string[]> {
  const entries = await readdir(path.join(spec.root, CLUSTERS_DIR), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !spec.clusters.some((c) => c.name === e.name))
    .map((e) => `${CLUSTERS_DIR}/${e.name}/`)
    .sort();
}

/** promtool on every collected config in as few processes as it takes. */
async function promtoolResults(promtool: Tool, inputs: PromtoolInput[]): Promise<CheckResult[]> {
  const problems = await checkPrometheusConfigs(
    promtool,
    inputs.map((i) => i.check),
  );
  return inputs.map((input, i) => result("promtool", input.file, problems[i]));
}

async function clusterTasks(
  root: string,
  cluster: ClusterSpec,
  k: Checkers,
  promtoolInputs: PromtoolInput[],
): Promise<Task[]> {
  const dir = `${CLUSTERS_DIR}/${cluster.name}`;
  const valuesFile = `${dir}/values.yaml`;
  const task = (run: () => Promise<CheckResult[]>): Task => ({ cluster: cluster.name, run });
  const read = await readClusterValues(root, valuesFile);
  const tasks: Task[] = [];
  if (read.problem !== undefined) tasks.push(task(async () => [result("values", valuesFile, read.problem)]));
  else {
    const { values, config } = read;
    const agent = cluster.role === "agent";
    const known = ruleFilesOf(values);
    promtoolInputs.push({ cluster: cluster.name, file: valuesFile, check: { config, agent, known } });
    if (k.valuesSchema) {
      const schema = k.valuesSchema;
      tasks.push(
        task(async () => [result("package-schema", valuesFile, valuesSchemaProblem(schema, values))]),
      );
    }
    if (k.bundle) tasks.push(task(() => bundleCheck(root, dir, values, agent, k)));
  }
  if (k.crds) {
    const crds = k.crds;
    tasks.push(task(() => checkCrds(root, dir, crds)));
  }
  return tasks;
}

async function bundleCheck(
  root: string,
  dir: string,
  values: PackageValues,
  agent: boolean,
  k: Checkers,
): Promise<CheckResult[]> {
  const { ytt, templates } = k.bundle as NonNullable<Checkers["bundle"]>;
  const problem = await checkBundle({
    ytt,
    promtool: k.promtool,
    templates,
    clusterDir: path.join(root, dir),
    values,
    agent,
  });
  return [result("package-bundle", `${dir}/values.yaml`, problem)];
}

function result(check: CheckName, file: string, message: string | undefined): CheckResult {
  return message ? { check, ok: false, file, message } : { check, ok: true, file };
}

/** Every kapp-controller and Flux resource in the cluster's manifests/ and bootstrap/, one result per file. */
async function checkCrds(root: string, dir: string, crds: CrdValidator): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const sub of ["manifests", "bootstrap"]) {
    const files = (await readdir(path.join(root, dir, sub)).catch(() => [] as string[]))
      .filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".sops.yaml"))
      .sort();
    for (const f of files) {
      const file = `${dir}/${sub}/${f}`;
      const problems = crdProblems(await readFile(path.join(root, file), "utf8"), crds);
      if (problems) results.push(result("crds", file, problems.join("; ") || undefined));
    }
  }
  return results;
}

/** Problems of the file's resources that CRDs cover; undefined when the file holds none. */
function crdProblems(text: string, crds: CrdValidator): string[] | undefined {
  const docs = parseAllDocuments(text);
  const broken = docs.flatMap((d) => d.errors.map((e) => `not valid YAML: ${e.message}`));
  if (broken.length > 0) return broken;
  const covered = docs
    .map((d) => d.toJS() as KubeResource | null)
    .filter((r): r is KubeResource => r !== null && typeof r === "object")
    .filter((r) => crds.knows(r) || crds.unknownKind(r));
  if (covered.length === 0) return undefined;
  return covered.flatMap((r) => {
    const unknown = crds.unknownKind(r);
    return unknown ? [unknown] : crds.validate(r).map((p) => `${String(r.kind)} ${p}`);
  });
}
