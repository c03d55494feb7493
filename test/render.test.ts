import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse, parseAllDocuments } from "yaml";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import { readRenderInputs, renderFleet } from "../src/render/render.js";
import { fastYaml, libraryYaml, toYaml } from "../src/render/yaml-format.js";
import { CrdValidator } from "../src/validate/crd.js";
import { findYtt } from "../src/ytt/ytt.js";
import {
  exampleFleetRepo,
  promfleet,
  readRepoFile,
  fixturesDir,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { parseDocs, parseValues, promConfigOf } from "./helpers/values.js";

const bundle = path.join(fixturesDir, "tce-prometheus-package-2.37.0");
let dir: string;

beforeAll(async () => {
  dir = await exampleFleetRepo();
  const result = await promfleet(dir, ["render"]);
  expect(result.code, result.stderr).toBe(0);
});

describe("the example fleet is the article's", () => {
  it.each([
    ["orbstack", "prometheus-values.yaml"],
    ["kind", "prometheus-agent-values.yaml"],
  ])("clusters/%s/values.yaml equals seed/%s semantically", async (cluster, seed) => {
    const rendered = parseValues(await readRepoFile(dir, `clusters/${cluster}/values.yaml`));
    const article = parseValues(await readFile(path.join(fixturesDir, "seed", seed), "utf8"));
    expect(rendered).toEqual(article);
  });

  it("every kapp-controller resource validates against the CRDs", async () => {
    const crds = await CrdValidator.load([path.join(fixturesDir, "crds")]);
    let checked = 0;
    for (const cluster of ["orbstack", "kind"]) {
      for (const file of ["bootstrap/app.yaml", "manifests/package-install.yaml"]) {
        for (const resource of parseDocs(await readRepoFile(dir, `clusters/${cluster}/${file}`))) {
          if (!crds.knows(resource)) continue;
          expect(crds.validate(resource), `${cluster}/${file} ${String(resource.kind)}`).toEqual([]);
          checked++;
        }
      }
    }
    expect(checked).toBe(4);
    expect(
      crds.validate({
        apiVersion: "kappctrl.k14s.io/v1alpha1",
        kind: "App",
        spec: { fetch: [{ git: { reff: "x" } }] },
      }),
    ).toEqual(["/spec/fetch/0/git/reff: unknown field"]);
  });

  it.each(["orbstack", "kind"])(
    "%s: the package's own ytt templates accept the values and run exactly its args",
    async (cluster) => {
      const ytt = await findYtt();
      const valuesFile = path.join(dir, "clusters", cluster, "values.yaml");
      const { stdout } = await execa(ytt.path, [
        "-f",
        path.join(bundle, "bundle", "config"),
        "--data-values-file",
        valuesFile,
      ]);
      const deployment = parseDocs(stdout).find(
        (d) => d.kind === "Deployment" && (d.metadata as { name: string }).name === "prometheus-server",
      ) as {
        spec: { template: { spec: { containers: Array<{ name: string; args: string[] }> } } };
      };
      const server = deployment.spec.template.spec.containers.find((c) => c.name === "prometheus-server");
      const values = parse(await readFile(valuesFile, "utf8")) as {
        prometheus: { deployment: { containers: { args: string[] } } };
      };
      expect(server?.args).toEqual(values.prometheus.deployment.containers.args);
      const configMap = parseDocs(stdout).find(
        (d) => d.kind === "ConfigMap" && (d.data as Record<string, string> | undefined)?.["prometheus.yml"],
      );
      expect(parse((configMap?.data as Record<string, string>)["prometheus.yml"] ?? "")).toEqual(
        parse((values.prometheus as unknown as { config: { prometheus_yml: string } }).config.prometheus_yml),
      );
    },
  );

  it.each(["orbstack", "kind"])(
    "%s: values validate against the package's values schema",
    async (cluster) => {
      const pkg = parse(await readFile(path.join(bundle, "package.yaml"), "utf8")) as {
        spec: { valuesSchema: { openAPIv3: object } };
      };
      const validate = new Ajv({ strict: false, allErrors: true }).compile(pkg.spec.valuesSchema.openAPIv3);
      const values = parse(await readRepoFile(dir, `clusters/${cluster}/values.yaml`));
      expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
      expect(validate({ prometheus: { pvc: { storage: 5 } } })).toBe(false);
    },
  );
});

describe("render", () => {
  it("the values Secret holds the values file and nothing else; the App pulls the cluster's manifests folder", async () => {
    const values = await readRepoFile(dir, "clusters/kind/values.yaml");
    const [secret] = parseDocs(await readRepoFile(dir, "clusters/kind/manifests/values-secret.yaml"));
    expect(Object.keys(secret?.stringData as object)).toEqual(["values.yaml"]);
    expect((secret?.stringData as Record<string, string>)["values.yaml"]).toBe(
      values.split("\n").slice(2).join("\n"),
    );
    const app = parseDocs(await readRepoFile(dir, "clusters/kind/bootstrap/app.yaml")).find(
      (d) => d.kind === "App",
    ) as {
      spec: { fetch: Array<{ git: Record<string, string> }>; syncPeriod: string };
    };
    expect(app.spec.fetch[0]?.git).toMatchObject({ ref: "origin/main", subPath: "clusters/kind/manifests" });
    expect(app.spec.syncPeriod).toBe("1m");
  });

  it("applies overlays in the documented order; a per-cluster overlay changes that cluster only", async () => {
    const repo = await fleetWithAgents(["kind", "edge-1"]);
    await writeRepoFile(
      repo,
      "overlays/fleet/interval.yaml",
      overlay("global:\n  scrape_interval: 30s", "prometheus_yml"),
    );
    await writeRepoFile(
      repo,
      "overlays/clusters/edge-1/interval.yaml",
      overlay("global:\n  scrape_interval: 15s", "prometheus_yml"),
    );
    await appendToSpec(
      repo,
      "overlays:\n  - overlays/fleet/interval.yaml\n",
      "edge-1",
      "overlays: [overlays/clusters/edge-1/interval.yaml]",
    );
    expect((await promfleet(repo, ["render"])).code).toBe(0);
    const interval = async (c: string) =>
      promConfigOf(await readRepoFile(repo, `clusters/${c}/values.yaml`)).global.scrape_interval;
    expect(await interval("orbstack")).toBe("30s");
    expect(await interval("kind")).toBe("30s");
    expect(await interval("edge-1")).toBe("15s");
  });

  it("applies a cluster's values (--set) after every overlay", async () => {
    const repo = await fleetWithAgents(["kind"]);
    await appendToSpec(
      repo,
      "",
      "kind",
      'values: {"prometheus.pvc.storage": 3Gi, "prometheus.config.prometheus_yml.global.scrape_timeout": 20s}',
    );
    expect((await promfleet(repo, ["render"])).code).toBe(0);
    const text = await readRepoFile(repo, "clusters/kind/values.yaml");
    expect((parse(text) as { prometheus: { pvc: { storage: string } } }).prometheus.pvc.storage).toBe("3Gi");
    expect(promConfigOf(text).global.scrape_timeout).toBe("20s");
  });

  it("guards agents' cluster label by default: a final labeldrop on jobs that map labels", async () => {
    const repo = await fleetWithAgents(["kind"]);
    const spec = await readRepoFile(repo, "fleet.yaml");
    await writeRepoFile(
      repo,
      "fleet.yaml",
      spec.replace("guardClusterLabel: false", "guardClusterLabel: true"),
    );
    const result = await promfleet(repo, ["render"]);
    expect(result.stderr).not.toContain("warning");
    const jobs = promConfigOf(await readRepoFile(repo, "clusters/kind/values.yaml")).scrape_configs;
    const guarded = jobs
      .filter((j) => j.relabel_configs?.at(-1)?.action === "labeldrop")
      .map((j) => j.job_name);
    expect(guarded).toEqual(["kubernetes-pods", "kubernetes-nodes-cadvisor"]);
    const off = await promfleet(dir, ["render", "--check"]);
    expect(off.stderr).toContain('job kubernetes-pods can set a "cluster" label');
  });

  it.each([
    [
      "rule_files",
      "rule_files: [/etc/config/rules]",
      "agent mode exits at start when its config has rule_files",
    ],
    [
      "remote_read",
      "remote_read: [{url: 'https://x.example.com'}]",
      "agent mode exits at start when its config has remote_read",
    ],
    [
      "max_retries",
      "remote_write: [{url: 'https://x.example.com', queue_config: {max_retries: 3}}]",
      "Prometheus 2.43 rejects this field",
    ],
  ])("refuses agent values that would not start (%s)", async (_name, snippet, message) => {
    const repo = await fleetWithAgents(["kind"]);
    await writeRepoFile(repo, "overlays/clusters/kind/bad.yaml", overlay(snippet, "prometheus_yml", true));
    await appendToSpec(repo, "", "kind", "overlays: [overlays/clusters/kind/bad.yaml]");
    const result = await promfleet(repo, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain("clusters/kind/values.yaml");
  });

  it("refuses a --storage.tsdb flag on an agent", async () => {
    const spec = await loadFleet(await fleetWithAgents(["kind"]));
    spec.clusters[1]!.values = {
      "prometheus.deployment.containers.args": ["--enable-feature=agent", "--storage.tsdb.path=/data"],
    };
    await expect(renderFleet(spec, await readRenderInputs(spec))).rejects.toMatchObject({
      problems: [
        expect.objectContaining({ message: "agent mode exits at start on --storage.tsdb.path=/data" }),
      ],
    });
  });

  it("ytt errors name the user's overlay file and line", async () => {
    const repo = await fleetWithAgents(["kind"]);
    await writeRepoFile(
      repo,
      "overlays/clusters/kind/broken.yaml",
      "#@ def overlay_for(cluster):\nprometheus:\n  x: #@ cluster.nope\n#@ end\n",
    );
    await appendToSpec(repo, "", "kind", "overlays: [overlays/clusters/kind/broken.yaml]");
    const result = await promfleet(repo, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("overlays/clusters/kind/broken.yaml:3");
    expect(result.stderr).not.toContain(".lib.yaml");
    expect(result.stderr).not.toContain("generated template");
  });
});

describe("overlay files", () => {
  it("an overlay that does not define overlay_for(cluster) is refused with the fix", async () => {
    const repo = await fleetWithAgents(["kind"]);
    await writeRepoFile(
      repo,
      "overlays/fleet/plain.yaml",
      '#@ load("@ytt:overlay", "overlay")\n#@overlay/match by=overlay.all\n---\na: 1\n',
    );
    await appendToSpec(repo, "overlays: [overlays/fleet/plain.yaml]\n", "kind", "storage: 2Gi");
    const result = await promfleet(repo, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("overlays/fleet/plain.yaml: does not define overlay_for(cluster)");
    expect(result.stderr).toContain('fix: wrap the YAML in "#@ def overlay_for(cluster):"');
  });
});

/** The example fleet with the given agents (all like `kind`). */
async function fleetWithAgents(agents: string[]): Promise<string> {
  const repo = await exampleFleetRepo();
  const spec = await readRepoFile(repo, "fleet.yaml");
  const extra = agents
    .filter((a) => a !== "kind")
    .map((a) => `  - name: ${a}\n    role: agent\n    retention: 5m\n`)
    .join("");
  await writeRepoFile(repo, "fleet.yaml", spec + extra);
  return repo;
}

/** Adds top-level text to the spec and one key to a cluster's entry. */
async function appendToSpec(
  repo: string,
  topLevel: string,
  cluster: string,
  clusterLine: string,
): Promise<void> {
  const spec = await readRepoFile(repo, "fleet.yaml");
  const withCluster = spec.replace(new RegExp(`(  - name: ${cluster}\\n)`), `$1    ${clusterLine}\n`);
  await writeRepoFile(repo, "fleet.yaml", topLevel + withCluster);
}

/** A ytt overlay that merges `snippet` into prometheus_yml (or the values root). */
function overlay(snippet: string, at: "prometheus_yml", missingOk = false): string {
  const body = snippet
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  const annotate = missingOk ? "      #@overlay/match missing_ok=True\n" : "";
  return `#@ load("@ytt:overlay", "overlay")\n#@ def overlay_for(cluster):\nprometheus:\n  config:\n    ${at}:\n${annotate}${body}\n#@ end\n`;
}

describe("the fast YAML writer", () => {
  /** Strings YAML may read as something else, quote, or write in several ways, and plain ones. */
  const STRINGS = [
    ...[
      "a",
      "_x",
      "/etc/x",
      "./x",
      "a.b/c-d_e",
      "A1",
      "a-",
      "a.",
      "a/",
      "_",
      "/",
      "./",
      "x...",
      "agent-00010",
    ],
    ...["Yes", "NO", "On", "off", "true", "True", "FALSE", "null", "Null", "NULL", "y", "N", "~", "", " "],
    ...[" a", "a ", "a b", "a: b", "a:b", "a #b", "a#b", "#a", "-a", "- a", "-", "--", "---", "...", "."],
    ...[".5", ".inf", ".NaN", "1", "01", "1.0", "1e3", "0x1f", "0o7", "+1", "-1", "1_000", "12:30"],
    ...["2001-12-14", "*a", "&a", "!a", "|a", ">a", "'a'", '"a"', "%a", "@a", "`a", "a,b", "[a]", "{a}"],
    ...["a]", "a}", "?a", "? a", "a?", "=", "<<", "a\tb", "a\nb", "a\n", "\n", "é", "日本", "a\\b"],
    ...["\u2028", "a'b", 'a"b', "a=b", "$1:$2", "(.+)", "https://x.example:9090/p?q=1&r=2"],
    "status.conditions.exists(c, c.type == 'X' && c.status == 'True')",
  ];
  const SCALARS: unknown[] = [null, true, false, 0, 7, -1, 2 ** 53, 1.5, 1e21, -0, NaN, Infinity];

  /** Each string and scalar as a key, a value and a list item, nested in maps and lists, empty ones beside. */
  function values(): unknown[] {
    const out: unknown[] = [];
    for (const s of STRINGS)
      out.push(
        { [s]: s },
        [s],
        { k: [s, { [s]: [s, [s, s]] }], e: {}, l: [], n: null },
        [[s, [s]], {}, [], { a: {}, [s]: { b: [] } }, [{ [s]: null }]],
        { apiVersion: "v1", kind: s, metadata: { name: s, namespace: "x", labels: { [s]: s } }, a: 1, Z: 2 },
      );
    for (const v of SCALARS) out.push({ v }, [v], { l: [v, [v]] });
    out.push({ u: undefined, k: 1 }, [undefined], { m: new Map([["a", 1]]) }, { d: new Date(0) }, "top", 1);
    return out;
  }

  it("writes exactly what the yaml library writes, or leaves the value to it", () => {
    let fast = 0;
    for (const value of values()) {
      const text = fastYaml(value);
      if (text !== undefined) {
        fast++;
        expect(text, JSON.stringify(value)).toBe(libraryYaml(value));
      }
      expect(toYaml(value), JSON.stringify(value)).toBe(libraryYaml(value));
    }
    // the awkward strings are written through the library's own scalars, not given up on
    expect(fast).toBeGreaterThan(values().length * 0.85);
  });

  it("writes every document of the rendered example fleet itself, as the library does", async () => {
    const tree = await renderFleet(await loadFleet(dir), await readRenderInputs(await loadFleet(dir)));
    let documents = 0;
    for (const [file, text] of tree.files) {
      if (!file.endsWith(".yaml") || file.endsWith(".promfleet-render.yaml")) continue;
      for (const doc of parseAllDocuments(text)) {
        const value = doc.toJS() as unknown;
        const fastText = fastYaml(value);
        // prometheus_yml and values.yaml are multi-line strings: the library writes those
        if (fastText === undefined) expect(JSON.stringify(value)).toMatch(/\\n/);
        else documents++;
        expect(toYaml(value), file).toBe(libraryYaml(value));
      }
    }
    expect(documents).toBeGreaterThan(10);
  });
});
