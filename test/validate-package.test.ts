/**
 * The package's values schema is checked by default: from the Package definition the spec names
 * (`package.definition`), else `--package`; with neither, validate warns like the CRD check does.
 * Values the package does not know fail validate, because the package's own templates ignore them
 * without a word (proved below by rendering its bundle with real ytt).
 */
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { beforeEach, describe, expect, it } from "vitest";
import { loadFleet } from "../src/fleet/load.js";
import { packageDefinition } from "../src/validate/package-schema.js";
import { validateFleet } from "../src/validate/validate.js";
import {
  exampleFleetRepo,
  fixturesDir,
  promfleet,
  readRepoFile,
  writeRepoFile,
} from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

const pkg = path.join(fixturesDir, "tce-prometheus-package-2.37.0");
const UNKNOWN_VALUES = '    values: {"foo.bar": 1, "prometheus.pvc.storag": 2Gi}\n';

type Report = {
  ok: boolean;
  clusters: { name: string; checks: { check: string; ok: boolean; message?: string }[] }[];
};

async function withUnknownValues(dir: string): Promise<void> {
  const spec = await readRepoFile(dir, "fleet.yaml");
  await writeRepoFile(
    dir,
    "fleet.yaml",
    spec.replace("  - name: kind\n", `  - name: kind\n${UNKNOWN_VALUES}`),
  );
  const r = await promfleet(dir, ["render"]);
  expect(r.code, r.stderr).toBe(0);
}

const schemaProblem = (report: Report, cluster: string) =>
  report.clusters.find((c) => c.name === cluster)?.checks.find((k) => k.check === "package-schema");

describe("package values schema", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await exampleFleetRepo();
  });

  it("the package's templates ignore unknown values silently: rendering them changes nothing", async () => {
    await promfleet(dir, ["render"]);
    const values = path.join(dir, "clusters", "kind", "values.yaml");
    const render = (extra: string[]) =>
      execa(toolPath("ytt"), [
        "-f",
        path.join(pkg, "bundle", "config"),
        "--data-values-file",
        values,
        ...extra,
      ]);
    const plain = await render([]);
    await writeRepoFile(dir, "extra.yaml", "foo:\n  bar: 1\nprometheus:\n  pvc:\n    storag: 2Gi\n");
    const withUnknown = await render(["--data-values-file", path.join(dir, "extra.yaml")]);
    expect(withUnknown.exitCode).toBe(0);
    expect(withUnknown.stdout).toBe(plain.stdout);
  });

  it("--set values the package does not know fail validate, at the root and nested", async () => {
    await withUnknownValues(dir);
    const r = await promfleet(dir, ["validate", "--package", path.join(pkg, "package.yaml"), "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(schemaProblem(report, "kind")).toEqual({
      check: "package-schema",
      ok: false,
      file: "clusters/kind/values.yaml",
      message:
        "/foo is not a value the package knows; /prometheus/pvc/storag is not a value the package knows",
    });
    expect(schemaProblem(report, "orbstack")?.ok).toBe(true);
    // the vendored Package is TCE's 2.37.0, not the 2.43 package the example fleet installs
    expect(r.stderr).toContain(
      "is the Package prometheus.community.tanzu.vmware.com 2.37.0, but the fleet installs " +
        "prometheus.tanzu.vmware.com 2.43.0+vmware.2-tkg.1",
    );
  });

  it("checks against the Package the spec names when no --package is given", async () => {
    await withUnknownValues(dir);
    await mkdir(path.join(dir, "packages"));
    await copyFile(path.join(pkg, "package.yaml"), path.join(dir, "packages", "prometheus.yaml"));
    const spec = await loadFleet(dir, "fleet.yaml", { requireCredentials: false });
    expect(packageDefinition(spec, undefined)).toBeUndefined();
    (spec.package as { definition?: string }).definition = "packages/prometheus.yaml";
    const definition = packageDefinition(spec, undefined);
    expect(definition).toEqual({
      file: path.join(dir, "packages", "prometheus.yaml"),
      origin: "fleet.yaml package.definition packages/prometheus.yaml",
    });
    const report = await validateFleet(spec, { packageFile: definition });
    expect(report.ok).toBe(false);
    expect(schemaProblem(report, "kind")?.message).toContain("/foo is not a value the package knows");
    // --package wins over the spec
    expect(packageDefinition(spec, "other.yaml")).toEqual({
      file: "other.yaml",
      origin: "--package other.yaml",
    });
  });

  it("warns when no Package is named, saying which field to set and where a Package comes from", async () => {
    await promfleet(dir, ["render"]);
    const r = await promfleet(dir, ["validate", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("values are not checked against the package's values schema");
    expect(r.stderr).toContain("package.definition");
    expect(r.stderr).toContain("kubectl get package");
    const checks = (JSON.parse(r.stdout) as Report).clusters.flatMap((c) => c.checks.map((k) => k.check));
    expect(checks).not.toContain("package-schema");
  });

  it("names the spec field when the Package file it names is missing or not a Package", async () => {
    const spec = await loadFleet(dir, "fleet.yaml", { requireCredentials: false });
    (spec.package as { definition?: string }).definition = "packages/missing.yaml";
    await promfleet(dir, ["render"]);
    const e = await validateFleet(spec, { packageFile: packageDefinition(spec, undefined) }).catch(
      (x: Error) => x,
    );
    expect(String(e)).toContain("fleet.yaml package.definition packages/missing.yaml: no such file");
  });

  it("validate --json prints a bad --package as JSON on stdout, exit 2", async () => {
    await promfleet(dir, ["render"]);
    const r = await promfleet(dir, ["validate", "--package", "no-such-package.yaml", "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: "--package no-such-package.yaml: no such file",
      problems: [],
    });
  });
});
