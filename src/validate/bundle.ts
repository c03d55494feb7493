/**
 * Renders values through the package bundle's own ytt templates and checks the Deployment's args and
 * ConfigMap.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { Tool } from "../util/tool.js";
import { runYtt, YttError } from "../ytt/ytt.js";
import { checkPrometheusConfig, type ContainerFiles } from "./promtool.js";
import { CONFIG_MOUNT, type PackageValues } from "./values.js";

const SERVER = "prometheus-server";

type Resource = { kind?: string; metadata?: { name?: string }; [field: string]: unknown };
type Container = { name: string; args?: string[] };

/** The package's ytt templates: <bundle>/config when the bundle has one, else the folder itself. */
export function bundleTemplates(bundle: string): string {
  if (!existsSync(bundle))
    throw new PromfleetError(`--package-bundle ${bundle}: no such folder`, ExitCode.badInput);
  const config = path.join(bundle, "config");
  return existsSync(config) ? config : bundle;
}

export interface BundleInput {
  ytt: Tool;
  promtool: Tool;
  /** The package's templates (see bundleTemplates). */
  templates: string;
  /** The cluster folder, absolute. */
  clusterDir: string;
  values: PackageValues;
  agent: boolean;
}

/**
 * Renders the cluster's values through the package's own templates, with the cluster's package overlay
 * Secret added as kapp-controller adds it, then checks what the package would run: the prometheus-server
 * container's args and the ConfigMap's prometheus.yml (with its rule files) under promtool.
 */
export async function checkBundle(input: BundleInput): Promise<string | undefined> {
  const overlay = await mkdtemp(path.join(os.tmpdir(), "promfleet-bundle-"));
  try {
    const extra = (await writePackageOverlay(input.clusterDir, overlay)) ? [overlay] : [];
    const rendered = await runYtt(input.ytt, {
      files: [input.templates, ...extra],
      dataValuesFiles: [path.join(input.clusterDir, "values.yaml")],
    });
    const docs = parseAllDocuments(rendered).map((d) => (d.toJS() ?? {}) as Resource);
    const problems = [
      ...argsProblems(serverArgs(docs), input.values.prometheus.deployment.containers.args, input.agent),
      await configMapProblem(docs, input.promtool, input.agent),
    ].filter((p): p is string => Boolean(p));
    return problems.length > 0 ? problems.join("; ") : undefined;
  } catch (e) {
    if (e instanceof YttError) return `the package's templates reject the values: ${e.message}`;
    throw e;
  } finally {
    await rm(overlay, { recursive: true, force: true });
  }
}

/** Writes the files of the cluster's package overlay Secret into `into`; false when there is none. */
async function writePackageOverlay(clusterDir: string, into: string): Promise<boolean> {
  const text = await readFile(path.join(clusterDir, "manifests", "package-overlay.yaml"), "utf8").catch(
    () => undefined,
  );
  const secret = text ? (parseAllDocuments(text)[0]?.toJS() as { stringData?: Record<string, string> }) : {};
  const files = Object.entries(secret?.stringData ?? {});
  for (const [name, content] of files) await writeFile(path.join(into, path.basename(name)), content);
  return files.length > 0;
}

function serverArgs(docs: Resource[]): string[] | undefined {
  const deployment = docs.find((d) => d.kind === "Deployment" && d.metadata?.name === SERVER) as
    { spec?: { template?: { spec?: { containers?: Container[] } } } } | undefined;
  return deployment?.spec?.template?.spec?.containers?.find((c) => c.name === SERVER)?.args;
}

/** What is wrong with the args the package renders, given the values' args and the cluster's role. */
export function argsProblems(args: string[] | undefined, want: string[], agent: boolean): string[] {
  if (!args) return [`the package rendered no ${SERVER} Deployment with a ${SERVER} container`];
  const problems: string[] = [];
  if (JSON.stringify(args) !== JSON.stringify(want))
    problems.push(`${SERVER} runs ${JSON.stringify(args)}, the values say ${JSON.stringify(want)}`);
  if (agent && !args.includes("--enable-feature=agent"))
    problems.push(`an agent's ${SERVER} lacks --enable-feature=agent`);
  if (agent)
    problems.push(
      ...args.filter((a) => a.startsWith("--storage.tsdb.")).map((a) => `agent mode exits at start on ${a}`),
    );
  if (!agent && !args.includes("--web.enable-remote-write-receiver"))
    problems.push("the aggregator lacks --web.enable-remote-write-receiver: agents' writes would get 404");
  return problems;
}

async function configMapProblem(
  docs: Resource[],
  promtool: Tool,
  agent: boolean,
): Promise<string | undefined> {
  const configMap = docs.find((d) => d.kind === "ConfigMap" && d.metadata?.name === SERVER);
  const data = (configMap?.data ?? {}) as Record<string, string>;
  const text = data["prometheus.yml"];
  if (!text) return `the package rendered no ${SERVER} ConfigMap with prometheus.yml`;
  const mounted: ContainerFiles = Object.fromEntries(
    Object.entries(data).map(([key, content]) => [`${CONFIG_MOUNT}/${key}`, content]),
  );
  const problem = await checkPrometheusConfig(
    promtool,
    parse(text) as Record<string, unknown>,
    agent,
    mounted,
  );
  return problem && `promtool on the package's ConfigMap: ${problem}`;
}
