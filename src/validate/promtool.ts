import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { toYaml } from "../render/yaml-format.js";
import { atLeast, findTool, installHint, type Tool } from "../util/tool.js";

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
      installHint: installHint("promtool", PROMTOOL_PINNED, "PROMFLEET_PROMTOOL"),
    },
    env,
  );
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
    const files = new Map<string, string>();
    const mapped = mapFiles(config, { root, known, files }, "");
    await Promise.all(
      [...files].map(async ([file, content]) => {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, content);
      }),
    );
    const configFile = path.join(root, "prometheus.yml");
    await writeFile(configFile, toYaml(mapped));
    const r = await execa(promtool.path, ["check", "config", ...(agent ? ["--agent"] : []), configFile], {
      reject: false,
      all: true,
      timeout: PROMTOOL_TIMEOUT_MS,
    });
    return r.exitCode === 0 ? undefined : promtoolMessage(r.all ?? r.message, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
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
  root: string;
  known: ContainerFiles;
  /** Temporary file -> content to write. */
  files: Map<string, string>;
}

function mapFiles(node: unknown, m: Mapping, key: string): unknown {
  if (Array.isArray(node)) return node.map((n) => mapFiles(n, m, key));
  if (typeof node === "string" && FILE_FIELDS.has(key) && node.startsWith("/")) {
    const local = path.join(m.root, node);
    if (!/[*?[]/.test(node)) m.files.set(local, m.known[node] ?? placeholder(key));
    return local;
  }
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mapFiles(v, m, k)]));
}

function placeholder(key: string): string {
  return key === "rule_files" ? "groups: []\n" : key === "files" ? "[]\n" : "placeholder\n";
}
