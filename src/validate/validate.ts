/** validate's orchestration: every check for every selected cluster, in one report. */
import { readdirSync, readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { mapBounded } from "../util/pool.js";
import { sha256Hex } from "../util/sha256.js";
import type { Tool } from "../util/tool.js";
import { findYtt } from "../ytt/ytt.js";
import { bundleTemplates, checkBundle } from "./bundle.js";
import type { CrdValidator, KubeResource } from "./crd.js";
import { loadValuesSchema, valuesSchemaProblem, type PackageDefinition } from "./package-schema.js";
import { checkPrometheusConfigs, findPromtool, type ConfigCheck } from "./promtool.js";
import type { CheckName, CheckResult, ClusterReport, ValidationReport } from "./report.js";
import { readClusterValues, ruleFilesOf, type PackageValues, type ReadValues } from "./values.js";
import { parseYamlDocuments } from "./fast-yaml.js";
import type { InstanceValidator } from "./instance-schema.js";

export interface ValidateOptions {
  /** promtool, when already being looked for; found here otherwise. */
  promtool?: Promise<Tool>;
  /** CRDs to check kapp-controller and Flux resources against; no CRD check without. */
  crds?: CrdValidator;
  /** A Package resource whose spec.valuesSchema.openAPIv3 the values must satisfy. */
  packageFile?: PackageDefinition;
  /** The package bundle (its config/ holds the ytt templates kapp-controller renders). */
  packageBundle?: string;
  /** Only these clusters (none when empty); every cluster when undefined. */
  clusters?: string[];
}

/** promtool and ytt are processes of their own: two at a time keeps a 2-core runner responsive. */
const CHECK_CONCURRENCY = 2;
/**
 * Clusters per group: promtool starts on a group's configs as soon as they are read, and checks them
 * while Node checks the same group's files and reads the next group. Memory stays bounded by two groups
 * (not the fleet), and promtool's CPU overlaps Node's on a 2-core runner.
 */
const GROUP_SIZE = 400;

interface Checkers {
  promtool: Tool;
  crds?: { validator: CrdValidator; results: Map<string, string[] | undefined> };
  valuesSchema?: InstanceValidator;
  bundle?: { ytt: Tool; templates: string };
}

/** One cluster's values as read, with its config for the group's promtool run. */
interface ReadCluster {
  cluster: ClusterSpec;
  valuesFile: string;
  read: ReadValues;
  promtool?: ConfigCheck;
}

/**
 * Validates what is committed in clusters/<name>/, which is what kapp-controller or Flux deploys (whether
 * it matches fleet.yaml is `render --check`'s job). Results keep the spec's cluster order.
 */
export async function validateFleet(spec: FleetSpec, o: ValidateOptions): Promise<ValidationReport> {
  const selected = selectClusters(spec, o.clusters);
  const found = o.promtool ?? findPromtool();
  let checkers: Promise<Checkers> | undefined;
  const clusters: ClusterReport[] = [];
  let previous: Promise<ClusterReport[]> = Promise.resolve([]);
  for (const group of chunks(selected, GROUP_SIZE)) {
    const read = group.map((c) => readCluster(spec.root, c));
    const promtool = await found;
    const configs = checkPrometheusConfigs(
      promtool,
      read.flatMap((r) => (r.promtool ? [r.promtool] : [])),
    );
    configs.catch(() => undefined); // awaited after the Node checks, whose own failure comes first
    // the values schema compiles and ytt's version is checked while promtool runs on the first group
    checkers ??= nodeCheckers(promtool, o);
    const ready = await checkers;
    const results = await mapBounded(read, CHECK_CONCURRENCY, (r) => nodeChecks(spec.root, r, ready));
    clusters.push(...(await previous));
    previous = configs.then((problems) => reports(read, problems, results));
    previous.catch(() => undefined); // awaited with the next group: its failure is raised there
  }
  clusters.push(...(await previous));
  await found; // a missing promtool is an error even when no cluster is selected
  return { ok: clusters.every((c) => c.checks.every((k) => k.ok)), clusters };
}

async function nodeCheckers(promtool: Tool, o: ValidateOptions): Promise<Checkers> {
  const [valuesSchema, ytt] = await Promise.all([
    o.packageFile ? loadValuesSchema(o.packageFile) : undefined,
    o.packageBundle ? findYtt() : undefined,
  ]);
  return {
    promtool,
    crds: o.crds ? { validator: o.crds, results: new Map() } : undefined,
    valuesSchema,
    bundle: ytt && o.packageBundle ? { ytt, templates: bundleTemplates(o.packageBundle) } : undefined,
  };
}

function selectClusters(spec: FleetSpec, names: string[] | undefined): ClusterSpec[] {
  if (names === undefined) return spec.clusters;
  const known = new Set(spec.clusters.map((c) => c.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new PromfleetError(
      `--cluster ${unknown.join(", ")}: not in ${spec.file} (clusters: ${spec.clusters.map((c) => c.name).join(", ")})`,
      ExitCode.badInput,
    );
  const wanted = new Set(names);
  return spec.clusters.filter((c) => wanted.has(c.name));
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** Folders in clusters/ that the fleet spec does not list: deployed by nothing promfleet checks. */
export async function unlistedClusterFolders(spec: FleetSpec): Promise<string[]> {
  const entries = await readdir(path.join(spec.root, CLUSTERS_DIR), { withFileTypes: true }).catch(() => []);
  const listed = new Set(spec.clusters.map((c) => c.name));
  return entries
    .filter((e) => e.isDirectory() && !listed.has(e.name))
    .map((e) => `${CLUSTERS_DIR}/${e.name}/`)
    .sort();
}

function readCluster(root: string, cluster: ClusterSpec): ReadCluster {
  const valuesFile = `${CLUSTERS_DIR}/${cluster.name}/values.yaml`;
  const read = readClusterValues(root, valuesFile);
  if (read.problem !== undefined) return { cluster, valuesFile, read };
  const { values, config } = read;
  const agent = cluster.role === "agent";
  return { cluster, valuesFile, read, promtool: { config, agent, known: ruleFilesOf(values) } };
}

/** The checks done in Node (or ytt): the values' schema, the package bundle, the CRDs. */
async function nodeChecks(root: string, r: ReadCluster, k: Checkers): Promise<CheckResult[]> {
  const dir = `${CLUSTERS_DIR}/${r.cluster.name}`;
  const results: CheckResult[] = [];
  if (r.read.problem !== undefined) results.push(result("values", r.valuesFile, r.read.problem));
  else {
    const { values } = r.read;
    if (k.valuesSchema)
      results.push(result("package-schema", r.valuesFile, valuesSchemaProblem(k.valuesSchema, values)));
    if (k.bundle) results.push(await bundleCheck(root, dir, values, r.cluster.role === "agent", k));
  }
  if (k.crds) results.push(...checkCrds(root, dir, k.crds));
  return results;
}

/** Each cluster's report: promtool's result on its config first, then the Node checks'. */
function reports(
  read: ReadCluster[],
  problems: (string | undefined)[],
  results: CheckResult[][],
): ClusterReport[] {
  let next = 0;
  return read.map((r, i) => ({
    name: r.cluster.name,
    checks: [
      ...(r.promtool ? [result("promtool", r.valuesFile, problems[next++])] : []),
      ...(results[i] as CheckResult[]),
    ],
  }));
}

async function bundleCheck(
  root: string,
  dir: string,
  values: PackageValues,
  agent: boolean,
  k: Checkers,
): Promise<CheckResult> {
  const { ytt, templates } = k.bundle as NonNullable<Checkers["bundle"]>;
  const problem = await checkBundle({
    ytt,
    promtool: k.promtool,
    templates,
    clusterDir: path.join(root, dir),
    values,
    agent,
  });
  return result("package-bundle", `${dir}/values.yaml`, problem);
}

function result(check: CheckName, file: string, message: string | undefined): CheckResult {
  return message ? { check, ok: false, file, message } : { check, ok: true, file };
}

/**
 * Every kapp-controller and Flux resource in the cluster's manifests/ and bootstrap/, one result per
 * file. Results are kept by the file's sha256: many clusters commit byte-identical files (RBAC, the
 * package overlay), which are then parsed and checked once.
 */
function checkCrds(root: string, dir: string, crds: NonNullable<Checkers["crds"]>): CheckResult[] {
  const results: CheckResult[] = [];
  for (const sub of ["manifests", "bootstrap"]) {
    const files = listDir(path.join(root, dir, sub))
      .filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".sops.yaml"))
      .sort();
    for (const f of files) {
      const file = `${dir}/${sub}/${f}`;
      const text = readFileSync(path.join(root, file), "utf8");
      const key = sha256Hex(text);
      if (!crds.results.has(key)) crds.results.set(key, crdProblems(text, crds.validator));
      const problems = crds.results.get(key);
      if (problems) results.push(result("crds", file, problems.join("; ") || undefined));
    }
  }
  return results;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Problems of the file's resources that CRDs cover; undefined when the file holds none. */
function crdProblems(text: string, crds: CrdValidator): string[] | undefined {
  const { values, errors } = parseYamlDocuments(text);
  if (errors.length > 0) return errors.map((e) => `not valid YAML: ${e}`);
  const covered = (values as Array<KubeResource | null>)
    .filter((r): r is KubeResource => r !== null && typeof r === "object")
    .filter((r) => crds.knows(r) || crds.unknownKind(r));
  if (covered.length === 0) return undefined;
  return covered.flatMap((r) => {
    const unknown = crds.unknownKind(r);
    return unknown ? [unknown] : crds.validate(r).map((p) => `${String(r.kind)} ${p}`);
  });
}
