import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { execa } from "execa";
import { parse, parseAllDocuments } from "yaml";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { CLUSTERS_DIR } from "../render/render.js";
import { mapBounded } from "../util/pool.js";
import type { Tool } from "../util/tool.js";
import { findYtt } from "../ytt/ytt.js";
import { CrdValidator, type KubeResource } from "./crd.js";
import { checkPrometheusConfig, findPromtool } from "./promtool.js";

export type CheckName = "promtool" | "crds" | "package-schema" | "package-bundle";

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  file: string;
  message?: string;
}

export interface ClusterReport {
  name: string;
  checks: CheckResult[];
}

export interface ValidateOptions {
  crds: string[];
  /** A Package resource whose spec.valuesSchema.openAPIv3 the values must satisfy. */
  packageFile?: string;
  /** The package bundle (its config/ holds the ytt templates kapp-controller renders). */
  packageBundle?: string;
  clusters?: string[];
}

interface Tools {
  promtool: Tool;
  ytt?: Tool;
  crds?: CrdValidator;
  valuesSchema?: ValidateFunction;
}

/** Validates what is committed in clusters/<name>/ — what kapp-controller or Flux will deploy. */
export async function validateFleet(
  spec: FleetSpec,
  o: ValidateOptions,
): Promise<{ ok: boolean; clusters: ClusterReport[] }> {
  const tools: Tools = {
    promtool: await findPromtool(),
    ytt: o.packageBundle ? await findYtt() : undefined,
    crds: o.crds.length > 0 ? await CrdValidator.load(o.crds) : undefined,
    valuesSchema: o.packageFile ? await loadValuesSchema(o.packageFile) : undefined,
  };
  const selected = spec.clusters.filter((c) => !o.clusters?.length || o.clusters.includes(c.name));
  const clusters = await mapBounded(selected, 2, (c) => validateCluster(spec, c, tools, o));
  return { ok: clusters.every((c) => c.checks.every((k) => k.ok)), clusters };
}

async function validateCluster(
  spec: FleetSpec,
  cluster: ClusterSpec,
  tools: Tools,
  o: ValidateOptions,
): Promise<ClusterReport> {
  const dir = `${CLUSTERS_DIR}/${cluster.name}`;
  const valuesFile = `${dir}/values.yaml`;
  const valuesText = await readFile(path.join(spec.root, valuesFile), "utf8").catch(() => undefined);
  if (valuesText === undefined)
    return {
      name: cluster.name,
      checks: [
        { check: "promtool", ok: false, file: valuesFile, message: "not rendered; run promfleet render" },
      ],
    };
  const values = parse(valuesText) as Values;
  const agent = cluster.role === "agent";
  const checks: CheckResult[] = [
    result(
      "promtool",
      valuesFile,
      await checkPrometheusConfig(tools.promtool, parse(values.prometheus.config.prometheus_yml), agent),
    ),
  ];
  if (tools.crds) checks.push(...(await checkCrds(spec.root, dir, tools.crds)));
  if (tools.valuesSchema)
    checks.push(result("package-schema", valuesFile, schemaMessage(tools.valuesSchema, values)));
  if (tools.ytt && o.packageBundle)
    checks.push(
      result(
        "package-bundle",
        valuesFile,
        await checkBundle(spec.root, dir, values, agent, tools, o.packageBundle),
      ),
    );
  return { name: cluster.name, checks };
}

type Values = {
  prometheus: { config: { prometheus_yml: string }; deployment: { containers: { args: string[] } } };
};

function result(check: CheckName, file: string, message: string | undefined): CheckResult {
  return message ? { check, ok: false, file, message } : { check, ok: true, file };
}

async function checkCrds(root: string, dir: string, crds: CrdValidator): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const sub of ["manifests", "bootstrap"]) {
    const files = (await readdir(path.join(root, dir, sub)).catch(() => [] as string[]))
      .filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".sops.yaml"))
      .sort();
    for (const f of files) {
      const file = `${dir}/${sub}/${f}`;
      const docs = parseAllDocuments(await readFile(path.join(root, file), "utf8")).map(
        (d) => d.toJS() as KubeResource,
      );
      const problems = docs
        .filter((d) => d && crds.knows(d))
        .flatMap((d) => crds.validate(d).map((p) => `${String(d.kind)} ${p}`));
      if (docs.some((d) => d && crds.knows(d)))
        results.push(result("crds", file, problems.join("; ") || undefined));
    }
  }
  return results;
}

async function loadValuesSchema(file: string): Promise<ValidateFunction> {
  const pkg = parse(await readFile(file, "utf8")) as { spec?: { valuesSchema?: { openAPIv3?: object } } };
  const schema = pkg.spec?.valuesSchema?.openAPIv3;
  if (!schema) throw new Error(`${file} has no spec.valuesSchema.openAPIv3`);
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

function schemaMessage(validate: ValidateFunction, values: unknown): string | undefined {
  if (validate(values)) return undefined;
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

/** Renders the values through the package's own templates as kapp-controller would, then checks the result. */
async function checkBundle(
  root: string,
  dir: string,
  values: Values,
  agent: boolean,
  tools: Tools,
  bundle: string,
): Promise<string | undefined> {
  const extra = await mkdtemp(path.join(os.tmpdir(), "promfleet-bundle-"));
  try {
    const overlayArgs = await writePackageOverlay(root, dir, extra);
    const config = (await readdir(bundle)).includes("config") ? path.join(bundle, "config") : bundle;
    const r = await execa(
      (tools.ytt as Tool).path,
      ["-f", config, ...overlayArgs, "--data-values-file", path.join(root, dir, "values.yaml")],
      { reject: false, all: true },
    );
    if (r.exitCode !== 0) return `the package's templates reject the values: ${r.all}`;
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
    return argsProblem(docs, values, agent) ?? (await configMapProblem(docs, tools.promtool, agent));
  } finally {
    await rm(extra, { recursive: true, force: true });
  }
}

/** The files of the cluster's package overlay Secret, as kapp-controller adds them to the templates. */
async function writePackageOverlay(root: string, dir: string, into: string): Promise<string[]> {
  const text = await readFile(path.join(root, dir, "manifests", "package-overlay.yaml"), "utf8").catch(
    () => undefined,
  );
  if (!text) return [];
  const secret = parseAllDocuments(text)[0]?.toJS() as { stringData?: Record<string, string> };
  for (const [name, content] of Object.entries(secret.stringData ?? {}))
    await writeFile(path.join(into, name), content);
  return ["-f", into];
}

type Container = { name: string; args?: string[] };

function argsProblem(
  docs: Array<Record<string, unknown>>,
  values: Values,
  agent: boolean,
): string | undefined {
  const deployment = docs.find(
    (d) => d.kind === "Deployment" && (d.metadata as { name?: string })?.name === "prometheus-server",
  ) as { spec: { template: { spec: { containers: Container[] } } } } | undefined;
  const args =
    deployment?.spec.template.spec.containers.find((c) => c.name === "prometheus-server")?.args ?? [];
  const want = values.prometheus.deployment.containers.args;
  if (JSON.stringify(args) !== JSON.stringify(want))
    return `prometheus-server runs ${JSON.stringify(args)}, the values say ${JSON.stringify(want)}`;
  if (agent && !args.includes("--enable-feature=agent"))
    return "an agent's prometheus-server lacks --enable-feature=agent";
  const tsdb = args.find((a) => a.startsWith("--storage.tsdb."));
  if (agent && tsdb) return `agent mode exits at start on ${tsdb}`;
  if (!agent && !args.includes("--web.enable-remote-write-receiver"))
    return "the aggregator lacks --web.enable-remote-write-receiver";
  return undefined;
}

async function configMapProblem(
  docs: Array<Record<string, unknown>>,
  promtool: Tool,
  agent: boolean,
): Promise<string | undefined> {
  const configMap = docs.find(
    (d) => d.kind === "ConfigMap" && (d.data as Record<string, string> | undefined)?.["prometheus.yml"],
  );
  const text = (configMap?.data as Record<string, string> | undefined)?.["prometheus.yml"];
  if (!text) return "the package rendered no ConfigMap with prometheus.yml";
  const problem = await checkPrometheusConfig(promtool, parse(text), agent);
  return problem && `promtool on the package's ConfigMap: ${problem}`;
}
