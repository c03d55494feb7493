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
import { readClusterValues, ruleFilesOf, type PackageValues } from "./values.js";
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
 * Clusters read and checked in Node while promtool checks the previous group: memory stays bounded by
 * the group (not the fleet), and promtool's CPU overlaps Node's on a 2-core runner.
 */
const GROUP_SIZE = 400;

interface Checkers {
  promtool: Tool;
  crds?: { validator: CrdValidator; results: Map<string, string[] | undefined> };
  valuesSchema?: InstanceValidator;
  bundle?: { ytt: Tool; templates: string };
}

/** One cluster's checks done in Node (or ytt), and its config waiting for the batched promtool run. */
interface Prepared {
  name: string;
  promtool?: { file: string; check: ConfigCheck };
  results: CheckResult[];
}

/**
 * Validates what is committed in clusters/<name>/, which is what kapp-controller or Flux deploys (whether
 * it matches fleet.yaml is `render --check`'s job). Results keep the spec's cluster order.
 */
export async function validateFleet(spec: FleetSpec, o: ValidateOptions): Promise<ValidationReport> {
  const selected = selectClusters(spec, o.clusters);
  // promtool's probe and ytt's version check run while the values schema compiles
  const [promtool, valuesSchema, ytt] = await Promise.all([
    o.promtool ?? findPromtool(),
    o.packageFile ? loadValuesSchema(o.packageFile) : undefined,
    o.packageBundle ? findYtt() : undefined,
  ]);
  const checkers: Checkers = {
    promtool,
    crds: o.crds ? { validator: o.crds, results: new Map() } : undefined,
    valuesSchema,
    bundle: ytt && o.packageBundle ? { ytt, templates: bundleTemplates(o.packageBundle) } : undefined,
  };
  const clusters: ClusterReport[] = [];
  let promtoolRun: Promise<ClusterReport[]> = Promise.resolve([]);
  for (const group of chunks(selected, GROUP_SIZE)) {
    const prepared = await mapBounded(group, CHECK_CONCURRENCY, (c) =>
      prepareCluster(spec.root, c, checkers),
    );
    clusters.push(...(await promtoolRun));
    promtoolRun = withPromtool(checkers.promtool, prepared);
  }
  clusters.push(...(await promtoolRun));
  return { ok: clusters.every((c) => c.checks.every((k) => k.ok)), clusters };
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

/** promtool on the group's configs in as few processes as it takes; its result first in each report. */
async function withPromtool(promtool: Tool, prepared: Prepared[]): Promise<ClusterReport[]> {
  const inputs = prepared.flatMap((p) => (p.promtool ? [p.promtool] : []));
  const problems = await checkPrometheusConfigs(
    promtool,
    inputs.map((i) => i.check),
  );
  const byInput = new Map(inputs.map((input, i) => [input, result("promtool", input.file, problems[i])]));
  return prepared.map((p) => ({
    name: p.name,
    checks: [...(p.promtool ? [byInput.get(p.promtool) as CheckResult] : []), ...p.results],
  }));
}

async function prepareCluster(root: string, cluster: ClusterSpec, k: Checkers): Promise<Prepared> {
  const dir = `${CLUSTERS_DIR}/${cluster.name}`;
  const valuesFile = `${dir}/values.yaml`;
  const read = readClusterValues(root, valuesFile);
  const prepared: Prepared = { name: cluster.name, results: [] };
  if (read.problem !== undefined) prepared.results.push(result("values", valuesFile, read.problem));
  else {
    const { values, config } = read;
    const agent = cluster.role === "agent";
    prepared.promtool = { file: valuesFile, check: { config, agent, known: ruleFilesOf(values) } };
    if (k.valuesSchema)
      prepared.results.push(
        result("package-schema", valuesFile, valuesSchemaProblem(k.valuesSchema, values)),
      );
    if (k.bundle) prepared.results.push(await bundleCheck(root, dir, values, agent, k));
  }
  if (k.crds) prepared.results.push(...checkCrds(root, dir, k.crds));
  return prepared;
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
