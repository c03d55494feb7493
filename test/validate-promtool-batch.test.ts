/**
 * validate runs promtool once per role for the whole fleet (promtool takes many files), and still
 * reports each broken config against its own cluster in promtool's words.
 */
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkPrometheusConfigs, findPromtool, type ConfigCheck } from "../src/validate/promtool.js";
import type { Tool } from "../src/util/tool.js";

/** The real promtool behind a wrapper that logs each invocation's arguments. */
async function countingPromtool(): Promise<{ tool: Tool; calls: () => Promise<string[]> }> {
  const real = await findPromtool();
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-promtool-count-"));
  const log = path.join(dir, "calls.log");
  const wrapper = path.join(dir, "promtool");
  await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real.path}' "$@"\n`);
  await chmod(wrapper, 0o755);
  const calls = async () => (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
  return { tool: { ...real, path: wrapper }, calls };
}

const config = (job: string, interval = "30s"): Record<string, unknown> => ({
  global: { scrape_interval: interval, external_labels: { cluster: job } },
  scrape_configs: [{ job_name: job, static_configs: [{ targets: ["localhost:9090"] }] }],
});

describe("promtool batching", () => {
  it("checks every agent in one call and every aggregator in another", async () => {
    const { tool, calls } = await countingPromtool();
    const checks: ConfigCheck[] = [
      { config: config("a1"), agent: true },
      { config: config("hub"), agent: false },
      { config: config("a2"), agent: true },
      { config: config("a3"), agent: true },
    ];
    expect(await checkPrometheusConfigs(tool, checks)).toEqual([undefined, undefined, undefined, undefined]);
    const made = await calls();
    expect(made).toHaveLength(2);
    expect(made[0]).toMatch(/^check config --agent (\S+prometheus\.yml ?){3}$/);
    expect(made[1]).toMatch(/^check config (\S+prometheus\.yml ?){1}$/);
  });

  it("reports a broken config against its own cluster, in promtool's words", async () => {
    const { tool } = await countingPromtool();
    const checks: ConfigCheck[] = [
      { config: config("a1"), agent: true },
      { config: config("a2", "15x"), agent: true },
      { config: config("a3"), agent: true },
    ];
    const results = await checkPrometheusConfigs(tool, checks);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toContain('unknown unit "x" in duration "15x"');
    expect(results[1]).toContain("FAILED: parsing YAML file /prometheus.yml");
    expect(results[2]).toBeUndefined();
  });

  it("checks again alone only the config promtool did not call valid", async () => {
    const { tool, calls } = await countingPromtool();
    const checks: ConfigCheck[] = ["a1", "a2", "a3", "a4"].map((job) => ({
      config: config(job, job === "a3" ? "15x" : "30s"),
      agent: true,
    }));
    const results = await checkPrometheusConfigs(tool, checks);
    expect(results.map((r) => r === undefined)).toEqual([true, true, false, true]);
    const made = await calls();
    expect(made).toHaveLength(2);
    expect(made[1]).toMatch(/^check config --agent \S+\/prometheus\.yml$/);
  });

  it("reports a broken rule file of a config promtool calls valid before checking its rules", async () => {
    const { tool } = await countingPromtool();
    const withRules = (job: string, rules: string): ConfigCheck => ({
      config: { ...config(job), rule_files: ["/etc/config/rules"] },
      agent: false,
      known: { "/etc/config/rules": rules },
    });
    const checks = [
      withRules("hub", "groups: []\n"),
      withRules("hub2", "groups:\n- name: x\n  rules:\n  - record: a\n    expr: sum(\n"),
    ];
    const results = await checkPrometheusConfigs(tool, checks);
    expect(results[0]).toBeUndefined();
    expect(results[1]).toMatch(/\/etc\/config\/rules: .*unclosed left parenthesis/);
  });
});
