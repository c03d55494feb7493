import { describe, expect, it } from "vitest";
import { MemoYaml } from "../src/render/memo-yaml.js";
import { toYamlDocuments } from "../src/render/yaml-format.js";
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
});
