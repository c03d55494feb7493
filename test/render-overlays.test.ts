import { readdir } from "node:fs/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import type { FleetSpec } from "../src/fleet/spec.js";
import { readRenderInputs, renderFleet, type RenderedFleet } from "../src/render/render.js";
import { PromfleetError, type Problem } from "../src/util/errors.js";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

/**
 * Every key render reads from a cluster's values after the overlays, removed or given another type by
 * a user overlay: [cluster, overlay body (merged into the values root), key render reports, what it found].
 */
const BROKEN: Array<[string, string, string, string]> = [
  [
    "no-yml",
    "prometheus:\n  config:\n    #@overlay/remove\n    prometheus_yml: {}",
    "prometheus.config.prometheus_yml",
    "missing",
  ],
  [
    "yml-string",
    'prometheus:\n  config:\n    #@overlay/replace\n    prometheus_yml: "global: {}"',
    "prometheus.config.prometheus_yml",
    "a string",
  ],
  [
    "yml-list",
    "prometheus:\n  config:\n    #@overlay/replace\n    prometheus_yml: [global]",
    "prometheus.config.prometheus_yml",
    "a list",
  ],
  ["no-config", "prometheus:\n  #@overlay/remove\n  config: {}", "prometheus.config", "missing"],
  ["prom-number", "#@overlay/replace\nprometheus: 3", "prometheus", "a number"],
  [
    "rw-string",
    'prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      remote_write: "https://x.example.com"',
    "prometheus.config.prometheus_yml.remote_write",
    "a string",
  ],
  [
    "rw-item",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      remote_write: [https://x.example.com]",
    "prometheus.config.prometheus_yml.remote_write[0]",
    "a string",
  ],
  [
    "rw-queue",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      remote_write: [{url: 'https://x.example.com', queue_config: [1]}]",
    "prometheus.config.prometheus_yml.remote_write[0].queue_config",
    "a list",
  ],
  [
    "jobs-map",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      scrape_configs: {job_name: x}",
    "prometheus.config.prometheus_yml.scrape_configs",
    "a map",
  ],
  [
    "job-string",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      scrape_configs: [x]",
    "prometheus.config.prometheus_yml.scrape_configs[0]",
    "a string",
  ],
  [
    "relabel-string",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      scrape_configs: [{job_name: x, relabel_configs: drop}]",
    "prometheus.config.prometheus_yml.scrape_configs[0].relabel_configs",
    "a string",
  ],
  [
    "relabel-item",
    "prometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      scrape_configs: [{job_name: x, relabel_configs: [labelmap]}]",
    "prometheus.config.prometheus_yml.scrape_configs[0].relabel_configs[0]",
    "a string",
  ],
  [
    "args-string",
    'prometheus:\n  deployment:\n    containers:\n      #@overlay/replace\n      args: "--enable-feature=agent"',
    "prometheus.deployment.containers.args",
    "a string",
  ],
  [
    "args-number",
    "prometheus:\n  deployment:\n    containers:\n      #@overlay/replace\n      args: [--enable-feature=agent, 1]",
    "prometheus.deployment.containers.args[1]",
    "a number",
  ],
  [
    "containers-list",
    "prometheus:\n  deployment:\n    #@overlay/replace\n    containers: []",
    "prometheus.deployment.containers",
    "a list",
  ],
];

const overlayPath = (cluster: string) => `overlays/clusters/${cluster}/broken.yaml`;

/** The example fleet plus one agent per broken overlay, each applying only its own. */
async function brokenFleet(): Promise<string> {
  const dir = await exampleFleetRepo();
  const spec = await readRepoFile(dir, "fleet.yaml");
  let agents = "";
  for (const [cluster, body] of BROKEN) {
    await writeRepoFile(
      dir,
      overlayPath(cluster),
      `#@ load("@ytt:overlay", "overlay")\n#@ def overlay_for(cluster):\n${body}\n#@ end\n`,
    );
    agents += `  - name: ${cluster}\n    role: agent\n    retention: 5m\n    overlays: [${overlayPath(cluster)}]\n`;
  }
  await writeRepoFile(dir, "fleet.yaml", spec + agents);
  return dir;
}

async function problemsOf(render: Promise<RenderedFleet>): Promise<Problem[]> {
  const error = await render.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromfleetError);
  expect((error as PromfleetError).exitCode).toBe(2);
  return (error as PromfleetError).problems;
}

describe("overlays that remove or retype a key render reads", () => {
  let dir: string;
  let spec: FleetSpec;
  let problems: Problem[];
  beforeAll(async () => {
    dir = await brokenFleet();
    spec = await loadFleet(dir);
    problems = await problemsOf(renderFleet(spec, await readRenderInputs(spec)));
  });

  it.each(BROKEN)(
    "%s: one problem naming the cluster, its overlay files, the key and a fix",
    (cluster, _body, key, found) => {
      const mine = problems.filter((p) => p.file === `clusters/${cluster}/values.yaml`);
      expect(mine).toHaveLength(1);
      const [problem] = mine as [Problem];
      expect(problem.path).toBe(key);
      expect(problem.message).toContain(`cluster ${cluster}:`);
      expect(problem.message).toContain(found);
      expect(problem.message).toContain(
        `overlays/base/values.yaml, overlays/roles/agent.yaml, ${overlayPath(cluster)}`,
      );
      expect(problem.fix).toMatch(/overlay/);
    },
  );

  it("reports no problem for the clusters whose overlays keep the structure", () => {
    const clusters = new Set(problems.map((p) => p.file));
    expect([...clusters].sort()).toEqual(BROKEN.map(([c]) => `clusters/${c}/values.yaml`).sort());
  });

  it("the CLI exits 2 with every cluster's problem, no stack trace, and writes nothing", async () => {
    const result = await promfleet(dir, ["render"]);
    expect(result.code).toBe(2);
    for (const [cluster, , key] of BROKEN)
      expect(result.stderr).toContain(`clusters/${cluster}/values.yaml: ${key}: cluster ${cluster}:`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain("bug");
    expect(await readdir(dir)).not.toContain("clusters");
  });

  it("names the cluster's values: in the spec when they are what retyped the key", async () => {
    const kind = spec.clusters.find((c) => c.name === "kind");
    const one = {
      ...spec,
      clusters: [spec.clusters[0]!, { ...kind!, values: { "prometheus.config": "x" } }],
    };
    const [problem, ...rest] = await problemsOf(renderFleet(one, await readRenderInputs(one)));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: "clusters/kind/values.yaml", path: "prometheus.config" });
    expect(problem?.message).toContain("a string");
    expect(problem?.message).toContain("fleet.yaml clusters[kind].values");
  });
});

describe("a cluster's values: set with own properties only", () => {
  const POLLUTING = ["relabel_configs", "x", "rule_files"];
  afterEach(() => {
    for (const key of POLLUTING) Reflect.deleteProperty(Object.prototype, key);
  });

  it("__proto__, constructor and prototype segments never reach another cluster's output", async () => {
    const dir = await exampleFleetRepo();
    const text = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      text.replace("guardClusterLabel: false", "guardClusterLabel: true") +
        "  - name: edge-1\n    role: agent\n    retention: 5m\n",
    );
    const spec = await loadFleet(dir);
    const inputs = await readRenderInputs(spec);
    const baseline = await renderFleet(spec, inputs);
    // What the spec check would refuse; set directly, as if that check were bypassed.
    const kind = spec.clusters.find((c) => c.name === "kind")!;
    kind.values = {
      "__proto__.relabel_configs": [{ target_label: "cluster", replacement: "edge-1" }],
      "__proto__.rule_files": ["/etc/config/rules"],
      "constructor.prototype.x": 1,
      "prometheus.__proto__.x": 1,
    };
    const polluted = await renderFleet(spec, inputs);
    for (const key of POLLUTING) expect(Object.hasOwn(Object.prototype, key), key).toBe(false);
    const othersOf = (r: RenderedFleet) => [...r.files].filter(([f]) => !f.startsWith("clusters/kind/"));
    expect(othersOf(polluted)).toEqual(othersOf(baseline));
    expect(polluted.warnings).toEqual(baseline.warnings);
  });
});

describe("relabel rules render cannot read", () => {
  it("a labelmap regex in RE2 syntax JavaScript lacks is treated as able to yield `cluster`", async () => {
    const dir = await exampleFleetRepo();
    const rule =
      "[{job_name: named, relabel_configs: [{action: labelmap, regex: '__meta_kubernetes_pod_label_(?P<name>.+)'}]}]";
    await writeRepoFile(
      dir,
      "overlays/clusters/kind/named.yaml",
      `#@ load("@ytt:overlay", "overlay")\n#@ def overlay_for(cluster):\nprometheus:\n  config:\n    prometheus_yml:\n      #@overlay/replace\n      scrape_configs: ${rule}\n#@ end\n`,
    );
    const text = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      text.replace("  - name: kind\n", "  - name: kind\n    overlays: [overlays/clusters/kind/named.yaml]\n"),
    );
    const spec = await loadFleet(dir);
    const rendered = await renderFleet(spec, await readRenderInputs(spec));
    expect(rendered.warnings).toEqual([
      'job named can set a "cluster" label that overrides external_labels.cluster (guardClusterLabel is off) [kind]',
    ]);
  });
});

describe("a base that yields no values document", () => {
  it("is a ytt error that explains promfleet's generated root template, exit 2", async () => {
    const dir = await exampleFleetRepo();
    await writeRepoFile(dir, "overlays/base/values.yaml", "#@ def values(cluster):\n#@ end\n");
    const spec = await loadFleet(dir);
    const error = await renderFleet(spec, await readRenderInputs(spec)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromfleetError);
    expect((error as PromfleetError).exitCode).toBe(2);
    expect((error as PromfleetError).message).toContain("overlay.apply: Expected map, but was null");
    expect((error as PromfleetError).message).toContain(
      "root.txt is promfleet's generated template: it calls values(cluster) from overlays/base/values.yaml",
    );
  });
});

describe("a base and overlays that yield several documents", () => {
  it("is ytt's own document error naming the generated template, exit 2, no Go backtrace", async () => {
    const dir = await exampleFleetRepo();
    await writeRepoFile(
      dir,
      "overlays/base/values.yaml",
      "#@ def values(cluster):\n---\na: 1\n---\nb: 2\n#@ end\n",
    );
    const matchAll = `#@ load("@ytt:overlay", "overlay")\n#@ def overlay_for(cluster):\n#@overlay/match by=overlay.all, expects="1+"\n---\n#@overlay/match missing_ok=True\nc: 3\n#@ end\n`;
    for (const role of ["agent", "aggregator"])
      await writeRepoFile(dir, `overlays/roles/${role}.yaml`, matchAll);
    const spec = await loadFleet(dir);
    const error = await renderFleet(spec, await readRenderInputs(spec)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromfleetError);
    expect((error as PromfleetError).exitCode).toBe(2);
    const message = (error as PromfleetError).message;
    expect(message).toContain("documents can only contain arrays, maps, or scalars; this is a document set");
    expect(message).toMatch(/(root\.txt|document\.lib\.yaml) is promfleet's generated template/);
    // staged copies of the user's files (u/000-values.lib.yaml, ...) are named by their real paths
    expect(message).not.toMatch(/goroutine|panic|u\/\d+-\S*\.lib\.yaml/);
  });
});
