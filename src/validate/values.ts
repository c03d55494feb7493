/** Reads a cluster's rendered values and its Prometheus config for the checks. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ContainerFiles } from "./promtool.js";
import { parseYaml } from "./fast-yaml.js";

/** The parts of the package values (clusters/<name>/values.yaml) validate looks at. */
export interface PackageValues {
  prometheus: {
    config: { prometheus_yml: string } & Partial<Record<RuleValue, string>>;
    deployment: { containers: { args: string[] } };
  };
}

/** Where the package's Deployment mounts its prometheus-server ConfigMap. */
export const CONFIG_MOUNT = "/etc/config";

/** Rule file values -> the ConfigMap key the package writes them to (mounted at /etc/config). */
const RULE_FILES = {
  alerting_rules_yml: "alerting_rules.yml",
  recording_rules_yml: "recording_rules.yml",
  alerts_yml: "alerts",
  rules_yml: "rules",
} as const;
type RuleValue = keyof typeof RULE_FILES;

export type ReadValues =
  { values: PackageValues; config: Record<string, unknown>; problem?: undefined } | { problem: string };

/**
 * Reads and parses a cluster's values.yaml and the prometheus.yml embedded in it. Read synchronously:
 * many small files, and the CPU is the bottleneck.
 */
export function readClusterValues(root: string, file: string): ReadValues {
  let text: string;
  try {
    text = readFileSync(path.join(root, file), "utf8");
  } catch {
    return { problem: "missing: run promfleet render" };
  }
  try {
    const values = parseYaml(text) as PackageValues | null;
    const embedded = values?.prometheus?.config?.prometheus_yml;
    if (typeof embedded !== "string")
      return { problem: "prometheus.config.prometheus_yml is missing or not a string" };
    const args = values?.prometheus?.deployment?.containers?.args;
    if (!Array.isArray(args)) return { problem: "prometheus.deployment.containers.args is missing" };
    const config = parseYaml(embedded) as Record<string, unknown> | null;
    if (typeof config !== "object" || config === null)
      return { problem: "prometheus.config.prometheus_yml is not a YAML mapping" };
    return { values: values as PackageValues, config };
  } catch (e) {
    return { problem: `not valid YAML: ${(e as Error).message}` };
  }
}

/** The rule files the values set, at the paths the package mounts them (the rest keep package defaults). */
export function ruleFilesOf(values: PackageValues): ContainerFiles {
  const config = values.prometheus.config;
  return Object.fromEntries(
    Object.entries(RULE_FILES)
      .filter(([value]) => typeof config[value as RuleValue] === "string")
      .map(([value, key]) => [`${CONFIG_MOUNT}/${key}`, config[value as RuleValue] as string]),
  );
}
