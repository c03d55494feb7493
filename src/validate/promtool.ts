/** promtool check config on rendered configs, batched per role (--agent for agents). */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { toYaml } from "../render/yaml-format.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { mapBounded } from "../util/pool.js";
import { atLeast, findTool, installHint, type Tool } from "../util/tool.js";
import { run } from "../util/process.js";

const PROMTOOL_PINNED = "2.43.1";
const PROMTOOL_MIN = "2.37.0";
const PROMTOOL_TIMEOUT_MS = 60_000;

export function findPromtool(env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  return findTool(
    {
      name: "promtool",
      envVar: "PROMFLEET_PROMTOOL",
      versionArgs: ["--version"],
      parseVersion: (out) => /promtool, version (\S+)/.exec(out)?.[1],
      accepts: (v) => atLeast(v, PROMTOOL_MIN),
      minimum: PROMTOOL_MIN,
      installHint: PROMTOOL_INSTALL_HINT,
      check: requireKubernetesSd,
    },
    env,
  );
}

const PROMTOOL_INSTALL_HINT = installHint("promtool", PROMTOOL_PINNED, "PROMFLEET_PROMTOOL");

/** The smallest config only a promtool with Kubernetes service discovery accepts. */
const KUBERNETES_SD_PROBE =
  "scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n";

/** Probe outcomes (promtool's complaint, or undefined) by binary path, size and mtime, for this process. */
const kubernetesSdProbes = new Map<string, Promise<string | undefined>>();

/**
 * Every cluster's config uses kubernetes_sd_configs, and a promtool built without that service discovery
 * (Debian's and Ubuntu's `prometheus` package: /usr/bin/promtool) rejects it as an unknown field, so each
 * cluster would fail validate for the tool's sake. Refuse such a promtool up front instead.
 */
async function requireKubernetesSd(promtool: Tool, env: NodeJS.ProcessEnv): Promise<void> {
  const file = await stat(promtool.path).catch(() => undefined);
  const key = `${promtool.path}:${file?.size}:${file?.mtimeMs}`;
  let probe = kubernetesSdProbes.get(key);
  if (!probe) kubernetesSdProbes.set(key, (probe = probeKubernetesSd(promtool, env)));
  const complaint = await probe;
  if (complaint !== undefined)
    throw new PromfleetError(
      `promtool at ${promtool.path} (${promtool.version}) was built without Kubernetes service discovery: ` +
        `it rejects kubernetes_sd_configs, which every cluster's Prometheus config uses (${complaint}). ` +
        `Debian's and Ubuntu's prometheus package build promtool this way; promfleet needs the upstream build.\n` +
        PROMTOOL_INSTALL_HINT,
      ExitCode.missingTool,
    );
}

async function probeKubernetesSd(promtool: Tool, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-promtool-probe-"));
  try {
    const config = path.join(dir, "prometheus.yml");
    await writeFile(config, KUBERNETES_SD_PROBE);
    const r = await run(promtool.path, ["check", "config", config], { env, timeoutMs: PROMTOOL_TIMEOUT_MS });
    if (r.exitCode === 0) return undefined;
    const lines = r.all.split("\n").map((l) => l.trim());
    return lines.find((l) => l.includes("kubernetes_sd_configs")) ?? lines.filter(Boolean).pop() ?? "";
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Config fields that name files inside the Prometheus container. promtool 2.43.1 fails on a missing
 * literal rule_files path ("does not point to an existing file"; a glob matching nothing is fine), on a
 * missing scrape bearer_token_file / credentials_file and on a missing cert_file / key_file; it accepts a
 * missing ca_file or password_file and only warns on file_sd files. Other promtool versions check more or
 * less, so every one of these fields is mapped, not only the ones 2.43.1 happens to stat.
 */
const FILE_FIELDS = new Set([
  "rule_files",
  "ca_file",
  "cert_file",
  "key_file",
  "bearer_token_file",
  "password_file",
  "credentials_file",
  "files",
]);

/** Container paths -> their content, e.g. the package's ConfigMap keys under /etc/config. */
export type ContainerFiles = Record<string, string>;

/** One config to check: what the package will run, the role, and container files we know the content of. */
export interface ConfigCheck {
  config: Record<string, unknown>;
  agent: boolean;
  known?: ContainerFiles;
}

/**
 * `promtool check config` (with --agent for agents) on a config the package will run, returning
 * promtool's complaint or undefined. promtool insists that referenced files exist; every absolute path
 * in a file field is mapped into a temporary root that holds `known` content where we have it (rule
 * files from the values or the package's ConfigMap, which promtool then checks too) and a placeholder
 * otherwise (service-account token, mounted secrets). Globs are mapped and left to match nothing.
 * Nothing else in the config changes, and messages name the container paths, not the temporary root.
 */
export async function checkPrometheusConfig(
  promtool: Tool,
  config: Record<string, unknown>,
  agent: boolean,
  known: ContainerFiles = {},
): Promise<string | undefined> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-promtool-"));
  try {
    const configFile = path.join(root, "prometheus.yml");
    const mapped = mapFiles(config, { local: (p) => path.join(root, p), known, files: new Map() }, "");
    await writeFiles(mapped.files);
    await writeFile(configFile, toYaml(mapped.config));
    const r = await runPromtool(promtool, agent, [configFile]);
    return r.exitCode === 0 ? undefined : promtoolMessage(r.all, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The same check for many configs with one promtool process per role and chunk (promtool takes many
 * files; a process per cluster costs ~30 ms each). A config promtool does not report as valid in a batch
 * is checked again on its own, so each problem is reported for its own cluster with promtool's own words.
 */
export async function checkPrometheusConfigs(
  promtool: Tool,
  checks: readonly ConfigCheck[],
): Promise<(string | undefined)[]> {
  const results = new Array<string | undefined>(checks.length);
  const indexes = checks.map((_, i) => i);
  const batches = [true, false].flatMap((agent) =>
    chunks(
      indexes.filter((i) => (checks[i] as ConfigCheck).agent === agent),
      BATCH_SIZE,
    ),
  );
  for (const batch of batches) {
    const problems = await checkBatch(
      promtool,
      batch.map((i) => checks[i] as ConfigCheck),
    );
    batch.forEach((i, at) => (results[i] = problems[at]));
  }
  return results;
}

/** Files per promtool call: keeps the command line far below the system's argument limit. */
const BATCH_SIZE = 400;

async function checkBatch(promtool: Tool, checks: ConfigCheck[]): Promise<(string | undefined)[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-promtool-"));
  let passed: boolean[];
  try {
    const files = await stageBatch(root, checks);
    const r = await runPromtool(promtool, Boolean(checks[0]?.agent), files);
    const valid = new Set(r.exitCode === 0 ? files : reportedValid(r.stdout.toString("utf8"), files));
    // promtool checks a config's rule files after calling the config valid: known rule files are rechecked
    passed = files.map((f, i) => valid.has(f) && (r.exitCode === 0 || isEmpty(checks[i]?.known)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const one = (c: ConfigCheck) => checkPrometheusConfig(promtool, c.config, c.agent, c.known);
  return mapBounded(checks, 2, (c, i) => (passed[i] ? Promise.resolve(undefined) : one(c)));
}

function isEmpty(known: ContainerFiles | undefined): boolean {
  return !known || Object.keys(known).length === 0;
}

/** The files promtool's output calls valid (" SUCCESS: <file> is valid ..."); any other wording: none. */
function reportedValid(stdout: string, files: string[]): string[] {
  const lines = new Set(stdout.split("\n").map((l) => l.trim()));
  return files.filter((f) => lines.has(`SUCCESS: ${f} is valid prometheus config file syntax`));
}

/**
 * Writes a batch's configs as JSON (a YAML subset promtool reads; serialising is ~200x cheaper than YAML,
 * and a config that fails is checked again as YAML for promtool's message). Placeholders for files whose
 * content we do not know are the same for every config, so they are written once for the batch; known
 * content (rule files) under the config's own folder.
 */
async function stageBatch(root: string, checks: ConfigCheck[]): Promise<string[]> {
  const shared = new Map<string, string>();
  const configs = checks.map((c, i) => {
    const own = path.join(root, String(i));
    const known = c.known ?? {};
    const local = (p: string) => path.join(Object.hasOwn(known, p) ? own : path.join(root, "shared"), p);
    const mapped = mapFiles(c.config, { local, known, files: new Map() }, "");
    const ownFiles = new Map([...mapped.files].filter(([file]) => file.startsWith(own + path.sep)));
    for (const [file, content] of mapped.files) if (!ownFiles.has(file)) shared.set(file, content);
    return { file: path.join(root, `${i}.prometheus.yml`), text: JSON.stringify(mapped.config), ownFiles };
  });
  await writeFiles(shared);
  await Promise.all(
    configs.map(async (c) => {
      await writeFiles(c.ownFiles);
      await writeFile(c.file, c.text);
    }),
  );
  return configs.map((c) => c.file);
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

async function writeFiles(files: Map<string, string>): Promise<void> {
  const dirs = new Set([...files.keys()].map((f) => path.dirname(f)));
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  await Promise.all([...files].map(([file, content]) => writeFile(file, content)));
}

function runPromtool(promtool: Tool, agent: boolean, files: string[]) {
  return run(promtool.path, ["check", "config", ...(agent ? ["--agent"] : []), ...files], {
    timeoutMs: PROMTOOL_TIMEOUT_MS,
  });
}

/** promtool's failure lines, with the temporary root taken out of every path. */
function promtoolMessage(output: string, root: string): string {
  return output
    .split(root)
    .join("")
    .split("\n")
    .filter((l) => l.trim() && !/^\s*(Checking|SUCCESS)\b/.test(l))
    .map((l) => l.trim())
    .join("\n");
}

interface Mapping {
  /** The temporary file standing for a container path. */
  local: (containerPath: string) => string;
  known: ContainerFiles;
  /** Temporary file -> content to write. */
  files: Map<string, string>;
}

/** The config with every absolute path in a file field mapped by `m.local`, and the files to write there. */
function mapFiles(
  config: Record<string, unknown>,
  m: Mapping,
  key: string,
): { config: unknown; files: Map<string, string> } {
  return { config: mapNode(config, m, key), files: m.files };
}

function mapNode(node: unknown, m: Mapping, key: string): unknown {
  if (Array.isArray(node)) return node.map((n) => mapNode(n, m, key));
  if (typeof node === "string" && FILE_FIELDS.has(key) && node.startsWith("/")) {
    const local = m.local(node);
    if (!/[*?[]/.test(node)) m.files.set(local, m.known[node] ?? placeholder(key));
    return local;
  }
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mapNode(v, m, k)]));
}

function placeholder(key: string): string {
  return key === "rule_files" ? "groups: []\n" : key === "files" ? "[]\n" : "placeholder\n";
}
