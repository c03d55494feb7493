import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { toYaml } from "../render/yaml-format.js";
import { atLeast, findTool, installHint, type Tool } from "../util/tool.js";

const PROMTOOL_PINNED = "2.43.1";

export function findPromtool(env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  return findTool(
    {
      name: "promtool",
      envVar: "PROMFLEET_PROMTOOL",
      versionArgs: ["--version"],
      parseVersion: (out) => /promtool, version (\S+)/.exec(out)?.[1],
      accepts: (v) => atLeast(v, "2.37.0"),
      minimum: "2.37.0",
      installHint: installHint("promtool", PROMTOOL_PINNED, "PROMFLEET_PROMTOOL"),
    },
    env,
  );
}

/** Config fields that name files inside the Prometheus container. */
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

/**
 * `promtool check config` (with --agent for agents) on a config the package will run. promtool insists
 * that referenced files exist; the ones inside the container (service-account token, mounted secrets,
 * rule files) are mapped into a temporary root holding placeholders, and nothing else is changed.
 */
export async function checkPrometheusConfig(
  promtool: Tool,
  config: Record<string, unknown>,
  agent: boolean,
): Promise<string | undefined> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-promtool-"));
  try {
    const placeholders = new Set<string>();
    const mapped = mapFiles(config, root, placeholders);
    for (const file of placeholders) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(
        file,
        file.includes("rule") || file.includes("/etc/config/") ? "groups: []\n" : "placeholder\n",
      );
    }
    const configFile = path.join(root, "prometheus.yml");
    await writeFile(configFile, toYaml(mapped));
    const r = await execa(promtool.path, ["check", "config", ...(agent ? ["--agent"] : []), configFile], {
      reject: false,
      all: true,
    });
    return r.exitCode === 0
      ? undefined
      : (r.all ?? "")
          .split(root)
          .join("")
          .replace(/^Checking .*\n/m, "")
          .trim();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function mapFiles(node: unknown, root: string, placeholders: Set<string>, key = ""): unknown {
  if (Array.isArray(node)) return node.map((n) => mapFiles(n, root, placeholders, key));
  if (typeof node === "string" && FILE_FIELDS.has(key) && node.startsWith("/")) {
    placeholders.add(path.join(root, node));
    return path.join(root, node);
  }
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mapFiles(v, root, placeholders, k)]));
}
