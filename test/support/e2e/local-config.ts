/**
 * Turns one cluster's rendered package values into what a local Prometheus process needs:
 * - the Prometheus config: `prometheus.config.prometheus_yml`, parsed and handed to ytt with
 *   overlays/testing/local-e2e.yaml (the only change made to the config; see that file);
 * - the container args: `prometheus.deployment.containers.args` exactly as rendered, except
 *   the paths that only exist inside a pod (--config.file, --storage.tsdb.path,
 *   --storage.agent.path) and an added --web.listen-address=127.0.0.1:<port>.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import YAML from "yaml";
import { overlayFile, yttBinary } from "./env.js";

export interface PackageValues {
  prometheus?: {
    deployment?: { containers?: { args?: unknown } };
    config?: { prometheus_yml?: unknown };
  };
}

export interface LocalPlan {
  /** Args for the local process, in the rendered order. */
  args: string[];
  /** The rendered args, untouched, for the report. */
  renderedArgs: string[];
  /** What was rewritten, one line per arg, e.g. `--config.file=/etc/config/prometheus.yml -> …`. */
  rewrites: string[];
  configFile: string;
  dataDir: string;
  /** The local config text written to configFile. */
  config: string;
  agentMode: boolean;
}

export function parseValues(valuesYaml: string, what: string): { args: string[]; prometheusYml: string } {
  const v = YAML.parse(valuesYaml) as PackageValues | null;
  const args = v?.prometheus?.deployment?.containers?.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string"))
    throw new Error(`${what}: prometheus.deployment.containers.args must be a list of strings`);
  const yml = v?.prometheus?.config?.prometheus_yml;
  if (typeof yml !== "string") throw new Error(`${what}: prometheus.config.prometheus_yml must be a string`);
  return { args: args as string[], prometheusYml: yml };
}

export function isAgentArgs(args: readonly string[]): boolean {
  return args.some((a) => {
    const m = /^--enable-feature=(.*)$/.exec(a);
    return !!m && (m[1] ?? "").split(",").includes("agent");
  });
}

const PATH_FLAGS = ["--config.file", "--storage.tsdb.path", "--storage.agent.path", "--web.listen-address"];

/**
 * Rewrites pod-internal paths in the rendered args. Accepts `--flag=value` and `--flag value`.
 */
export function localArgs(
  rendered: readonly string[],
  local: { configFile: string; dataDir: string; listenAddress: string },
): { args: string[]; rewrites: string[] } {
  const agent = isAgentArgs(rendered);
  const storageFlag = agent ? "--storage.agent.path" : "--storage.tsdb.path";
  const replacement: Record<string, string> = {
    "--config.file": local.configFile,
    [storageFlag]: local.dataDir,
    "--web.listen-address": local.listenAddress,
  };
  const out: string[] = [];
  const rewrites: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rendered.length; i++) {
    const arg = rendered[i] as string;
    const flag = PATH_FLAGS.find((f) => arg === f || arg.startsWith(f + "="));
    if (!flag || replacement[flag] === undefined) {
      out.push(arg);
      continue;
    }
    let old: string;
    if (arg === flag) {
      old = `${flag} ${rendered[i + 1] ?? ""}`;
      i++;
    } else old = arg;
    const now = `${flag}=${replacement[flag]}`;
    out.push(now);
    rewrites.push(`${old} -> ${now}`);
    seen.add(flag);
  }
  for (const flag of ["--config.file", storageFlag, "--web.listen-address"]) {
    if (seen.has(flag)) continue;
    const now = `${flag}=${replacement[flag]}`;
    out.push(now);
    rewrites.push(`(not set) -> ${now}`);
  }
  return { args: out, rewrites };
}

export interface OverlayValues {
  ksm_target: string;
  self_target: string;
  scrape_interval: string;
  remote_write_url: string;
}

/** Runs ytt with the local-e2e overlay on a Prometheus config; returns the local config text. */
export async function localizeConfig(
  prometheusYml: string,
  values: OverlayValues,
  workDir: string,
): Promise<string> {
  const ytt = yttBinary();
  if (!ytt)
    throw new Error("no ytt binary: set PROMFLEET_YTT, run scripts/install-tools.sh, or put ytt on PATH");
  await mkdir(workDir, { recursive: true });
  const input = path.join(workDir, "rendered-prometheus.yml");
  const dv = path.join(workDir, "local-e2e-values.yaml");
  // Parsed and re-serialised: ytt gets plain YAML data, not a template with comments.
  await writeFile(input, YAML.stringify(YAML.parse(prometheusYml)));
  await writeFile(dv, YAML.stringify(values));
  const { stdout } = await execa(
    ytt,
    [
      "-f",
      input,
      "--file-mark",
      `${path.basename(input)}:type=yaml-plain`,
      "-f",
      overlayFile,
      "--data-values-file",
      dv,
    ],
    { timeout: 30_000 },
  );
  return stdout;
}

export async function planLocalProcess(opts: {
  name: string;
  valuesYaml: string;
  dir: string;
  port: number;
  ksmTarget: string;
  remoteWriteUrl: string;
  scrapeInterval: string;
}): Promise<LocalPlan> {
  const { args: renderedArgs, prometheusYml } = parseValues(opts.valuesYaml, opts.name);
  const configFile = path.join(opts.dir, "prometheus.yml");
  const dataDir = path.join(opts.dir, "data");
  await mkdir(dataDir, { recursive: true });
  const listen = `127.0.0.1:${opts.port}`;
  const config = await localizeConfig(
    prometheusYml,
    {
      ksm_target: opts.ksmTarget,
      self_target: listen,
      scrape_interval: opts.scrapeInterval,
      remote_write_url: opts.remoteWriteUrl,
    },
    opts.dir,
  );
  await writeFile(configFile, config);
  const { args, rewrites } = localArgs(renderedArgs, { configFile, dataDir, listenAddress: listen });
  await writeFile(
    path.join(opts.dir, "args.txt"),
    [`# rendered`, ...renderedArgs, ``, `# local`, ...args, ``, `# rewrites`, ...rewrites, ``].join("\n"),
  );
  return { args, renderedArgs, rewrites, configFile, dataDir, config, agentMode: isAgentArgs(renderedArgs) };
}
