import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { MemoYaml } from "../src/render/memo-yaml.js";
import { toYaml, toYamlDocuments } from "../src/render/yaml-format.js";
import { promConfigOf } from "./helpers/values.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";
import { exampleFleetRepo, promfleet, readRepoFile } from "./helpers/fleet-repo.js";

const app = (name: string) => [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "tkg-system" } },
  {
    apiVersion: "kappctrl.k14s.io/v1alpha1",
    kind: "App",
    metadata: { name: `promfleet-${name}`, labels: { cluster: name } },
    spec: { subPath: `clusters/${name}/manifests` },
  },
];
const secret = (text: string) => [
  {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "v" },
    stringData: { "values.yaml": text },
    type: "Opaque",
  },
];

let rendered: Promise<string[]> | undefined;

/** The values.yaml of every cluster of the example fleet and of a secure fleet, rendered once. */
function renderedValuesFiles(): Promise<string[]> {
  return (rendered ??= (async () => {
    const example = await exampleFleetRepo();
    const secure = (await secureFleetRepo({ agents: ["kind", "edge-1"] })).dir;
    const files: string[] = [];
    for (const [dir, clusters] of [
      [example, ["orbstack", "kind"]],
      [secure, ["orbstack", "kind", "edge-1"]],
    ] as const) {
      await promfleet(dir, ["render"]);
      for (const cluster of clusters) files.push(await readRepoFile(dir, `clusters/${cluster}/values.yaml`));
    }
    return files;
  })());
}

describe("memoised YAML equals the yaml library's output", () => {
  it.each(["kind", "edge-1", "true", "null", "123", "1e3", "0x1f", "yes", "a"])(
    "for a cluster named %s",
    (name) => {
      const memo = new MemoYaml();
      memo.documents("warm-up", app);
      expect(memo.documents(name, app)).toBe(toYamlDocuments(app(name)));
    },
  );

  it("quotes a name that YAML would read as another type", () => {
    expect(new MemoYaml().documents("true", app)).toContain('cluster: "true"');
  });

  it.each([
    ["a: 1\nb:\n  c: 2\n"],
    ["a: 1\n\nb: 2\n"],
    ["  leading: space\n"],
    ["no newline"],
    ["two newlines\n\n"],
    ["trailing space \nx\n"],
    ["space before a line separator \u2028x\n"],
    ["space before a paragraph separator \u2029x\n"],
    ["carriage\r\nreturn\n"],
    ["tab\there\n"],
    ["key: |\n  nested\n  block\n"],
  ])("for the text %j", (text) => {
    const memo = new MemoYaml();
    memo.documentsWithText(secret, "values.yaml", "warm: up\n");
    expect(memo.documentsWithText(secret, "values.yaml", text)).toBe(toYamlDocuments(secret(text)));
  });

  it("for the example fleet's rendered values", async () => {
    const dir = await exampleFleetRepo();
    await promfleet(dir, ["render"]);
    for (const cluster of ["orbstack", "kind"]) {
      const values = (await readRepoFile(dir, `clusters/${cluster}/values.yaml`))
        .split("\n")
        .slice(2)
        .join("\n");
      expect(new MemoYaml().documentsWithText(secret, "values.yaml", values)).toBe(
        toYamlDocuments(secret(values)),
      );
    }
  });

  it("for every rendered values file, with its prometheus_yml spliced in", async () => {
    const memo = new MemoYaml();
    const files = await renderedValuesFiles();
    expect(files).toHaveLength(5);
    for (const text of files) {
      const values = parse(text) as Record<string, unknown>;
      expect(memo.mapWithText(values, ["prometheus", "config", "prometheus_yml"])).toBe(toYaml(values));
    }
  });

  it.each([
    ["a: 1\n"],
    ["  leading: space\n"],
    ["no newline"],
    ["two newlines\n\n"],
    ["trailing space \nx\n"],
    ["space before a line separator \u2028x\n"],
    ["space before a paragraph separator \u2029x\n"],
    ["carriage\r\nreturn\n"],
    ["tab\there\n"],
    ["---\nx: 1\n...\n"],
  ])("for values whose prometheus_yml is %j, or that have none", (text) => {
    const memo = new MemoYaml();
    const at = ["prometheus", "config", "prometheus_yml"];
    const values = (t: unknown) => ({
      prometheus: { args: ["--x"], config: { prometheus_yml: t, other: "prometheus_yml" } },
    });
    memo.mapWithText(values("warm: up\n"), at);
    expect(memo.mapWithText(values(text), at)).toBe(toYaml(values(text)));
    expect(memo.mapWithText(values(42), at)).toBe(toYaml(values(42)));
    expect(memo.mapWithText({ prometheus: { config: "x" } }, at)).toBe(
      toYaml({ prometheus: { config: "x" } }),
    );
    // a second key of the same name elsewhere: the splice cannot tell them apart, so it does not guess
    const twice = { ...values(text), extra: { prometheus_yml: "promfleet_text_placeholder" } };
    expect(memo.mapWithText(twice, at)).toBe(toYaml(twice));
  });

  it("for every rendered Prometheus config, with its scrape jobs spliced in", async () => {
    const memo = new MemoYaml();
    const files = await renderedValuesFiles();
    expect(files).toHaveLength(5);
    for (const text of files) {
      const config = promConfigOf(text) as Record<string, unknown>;
      expect(memo.mapWithList(config, "scrape_configs")).toBe(toYaml(config));
    }
    expect(memo.mapWithList({ a: 1, scrape_configs: [] }, "scrape_configs")).toBe(
      toYaml({ a: 1, scrape_configs: [] }),
    );
    const tricky = {
      global: { x: "scrape_configs: promfleet_text_placeholder" },
      scrape_configs: [{ job_name: "true", b: [1] }],
    };
    expect(memo.mapWithList(tricky, "scrape_configs")).toBe(toYaml(tricky));
  });
});
