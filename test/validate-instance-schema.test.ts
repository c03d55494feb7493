/**
 * validate checks CRD resources and package values against schemas pruned to what each value reaches
 * (src/validate/instance-schema.ts). Differential tests: for real schemas (kapp-controller's App and
 * PackageInstall CRDs, the TCE Package's values schema) and a schema using every applicator it prunes,
 * valid values and hundreds of mutations of them (an unknown key, a wrong type, a missing key at every
 * path) get exactly the errors, in the same order, that ajv gives for the whole schema.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { AJV_OPTIONS } from "../src/validate/crd.js";
import { instanceValidator, prune, prunable } from "../src/validate/instance-schema.js";
import { fixturesDir } from "./helpers/fleet-repo.js";
import { GENERATED_FILE, generatedMetaValidator } from "../scripts/generate-meta-validator.mjs";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;

function wholeErrors(schema: Schema): (v: unknown) => ErrorObject[] {
  const validate = new Ajv(AJV_OPTIONS).compile(schema);
  return (v) => (validate(v) ? [] : [...(validate.errors ?? [])]);
}

/** Paths to every node of a value. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const here = [at];
  if (Array.isArray(v)) return [...here, ...v.flatMap((c, i) => paths(c, [...at, i]))];
  if (v !== null && typeof v === "object")
    return [...here, ...Object.entries(v).flatMap(([k, c]) => paths(c, [...at, k]))];
  return here;
}

function edit(v: Json, at: (string | number)[], change: (parent: Json, key: string | number) => void): Json {
  const copy = structuredClone(v);
  if (at.length === 0) return copy;
  let parent = copy as Record<string | number, Json>;
  for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  change(parent as Json, at[at.length - 1] as string | number);
  return copy;
}

/** The value, and for every node: an unknown key added, its type changed (three ways), it removed. */
function mutations(v: Json): Json[] {
  const out: Json[] = [v];
  for (const at of paths(v)) {
    const node = at.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k] as Json, v);
    if (node !== null && typeof node === "object" && !Array.isArray(node))
      out.push(edit(v, at, (p, k) => ((p as Record<string | number, Json>)[k] = { ...node, typo: 1 })));
    if (at.length === 0) continue;
    for (const other of [7, "seven", { seven: [7] }, [true], null] as Json[])
      out.push(edit(v, at, (p, k) => ((p as Record<string | number, Json>)[k] = other)));
    out.push(
      edit(v, at, (p, k) =>
        Array.isArray(p) ? p.splice(k as number, 1) : delete (p as Record<string, Json>)[k as string],
      ),
    );
  }
  return out;
}

/**
 * A validator checks at most `perValidator` values pruned (then compiles the whole schema): a new one
 * every `perValidator` values keeps every value on the pruned path, unless the test is about the switch.
 */
function expectSameErrors(schema: Schema, values: Json[], perValidator = 16): void {
  const whole = wholeErrors(schema);
  let pruned = instanceValidator(schema, AJV_OPTIONS);
  let failing = 0;
  for (const [i, v] of values.entries()) {
    if (i % perValidator === 0) pruned = instanceValidator(schema, AJV_OPTIONS);
    const expected = whole(v);
    if (expected.length > 0) failing++;
    expect(pruned(v), JSON.stringify(v)).toEqual(expected);
  }
  // the mutations are meant to break things: the comparison covers errors, not only passes
  expect(failing).toBeGreaterThan(values.length / 3);
}

async function crdSchema(kind: string): Promise<Schema> {
  const text = await readFile(path.join(fixturesDir, "crds", "kapp-controller-v0.53-crds.yml"), "utf8");
  const crd = parseAllDocuments(text)
    .map((d) => d.toJS() as { spec?: { names?: { kind?: string }; versions: { schema: Schema }[] } })
    .find((d) => d?.spec?.names?.kind === kind);
  // without `format`, which ajv would warn about (CrdValidator drops it too)
  const schema = JSON.stringify(crd?.spec?.versions[0]?.schema.openAPIV3Schema);
  return JSON.parse(schema, (k: string, v: unknown) => (k === "format" ? undefined : v)) as Schema;
}

const APP: Json = {
  apiVersion: "kappctrl.k14s.io/v1alpha1",
  kind: "App",
  metadata: { name: "promfleet-agent-00003", namespace: "tkg-system" },
  spec: {
    deploy: [{ kapp: {} }],
    fetch: [{ git: { ref: "origin/main", subPath: "clusters/a/manifests", url: "https://x/y.git" } }],
    serviceAccountName: "promfleet-app",
    syncPeriod: "1m",
    template: [{ ytt: { ignoreUnknownComments: true } }],
  },
};

const PACKAGE_INSTALL: Json = {
  apiVersion: "packaging.carvel.dev/v1alpha1",
  kind: "PackageInstall",
  metadata: { name: "prometheus" },
  spec: {
    packageRef: { refName: "prometheus.tanzu.vmware.com", versionSelection: { constraints: "2.43.0" } },
    serviceAccountName: "sa",
    values: [{ secretRef: { name: "values" } }],
  },
};

/** Every applicator prune() follows, and the ones it keeps whole. */
const APPLICATORS: Schema = {
  type: "object",
  required: ["a"],
  additionalProperties: false,
  properties: {
    a: { type: "integer", minimum: 1 },
    b: {
      type: "array",
      items: { type: "object", properties: { c: { type: "string" } }, additionalProperties: false },
    },
    m: {
      type: "object",
      additionalProperties: { type: "object", properties: { n: { type: "number" } }, required: ["n"] },
    },
    x: {
      anyOf: [
        {
          type: "object",
          properties: { s: { type: "string" } },
          required: ["s"],
          additionalProperties: false,
        },
        { type: "object", properties: { t: { type: "boolean" } }, required: ["t"] },
      ],
    },
    o: { oneOf: [{ type: "string" }, { type: "object", properties: { p: { type: "string" } } }] },
    i: {
      type: "object",
      if: { properties: { kind: { const: "git" } } },
      then: { properties: { url: { type: "string", pattern: "^https://" } }, required: ["url"] },
      else: { not: { properties: { url: { type: "string" } }, required: ["url"] } },
    },
    al: { allOf: [{ properties: { q: { type: "string" } } }, { properties: { q: { maxLength: 3 } } }] },
    pp: { type: "object", patternProperties: { "^x-": { type: "integer" } }, additionalProperties: false },
    ["__proto__"]: { type: "string" },
  },
};

const APPLICATOR_VALUE: Json = JSON.parse(
  JSON.stringify({
    a: 2,
    b: [{ c: "c" }, { c: "d" }],
    m: { one: { n: 1 }, two: { n: 2 } },
    x: { s: "s" },
    o: { p: "p" },
    i: { kind: "git", url: "https://x" },
    al: { q: "abc" },
    pp: { "x-a": 1 },
  }),
) as Json;

describe("schemas pruned to the value give the whole schema's errors", () => {
  it("kapp-controller App and PackageInstall CRDs", async () => {
    expectSameErrors(await crdSchema("App"), mutations(APP));
    expectSameErrors(await crdSchema("PackageInstall"), mutations(PACKAGE_INSTALL));
  });

  it("the TCE Package's values schema, on the values of the example fleet's clusters", async () => {
    const pkg = parse(
      await readFile(path.join(fixturesDir, "tce-prometheus-package-2.37.0", "package.yaml"), "utf8"),
    ) as { spec: { valuesSchema: { openAPIv3: Schema } } };
    const values: Json = {
      namespace: "prometheus",
      prometheus: {
        deployment: { replicas: 1, containers: { args: ["--web.enable-remote-write-receiver"] } },
        config: { prometheus_yml: "global: {}\n" },
        pvc: { storage: "20Gi" },
      },
      ingress: { enabled: false },
    };
    expectSameErrors(pkg.spec.valuesSchema.openAPIv3, mutations(values));
  });

  it("allOf, anyOf, oneOf, not, if/then/else, items, additionalProperties and patternProperties", () => {
    expectSameErrors(APPLICATORS, mutations(APPLICATOR_VALUE));
  });

  it("prunes properties the value lacks, and only those", () => {
    const pruned = prune(APPLICATORS, [{ a: 1, b: [{}], x: { t: true } }]) as Schema;
    expect(Object.keys(pruned.properties as Schema)).toEqual(["a", "b", "x"]);
    const x = (pruned.properties as Record<string, { anyOf: Schema[] }>).x as { anyOf: Schema[] };
    expect(x.anyOf.map((s) => Object.keys(s.properties as Schema))).toEqual([[], ["t"]]);
    const b = (pruned.properties as Record<string, { items: Schema }>).b as { items: Schema };
    expect(b.items.properties).toEqual({});
  });

  it("a schema with references is not pruned, and is still checked", () => {
    const withRef: Schema = {
      definitions: { port: { type: "integer", maximum: 65535 } },
      type: "object",
      properties: { port: { $ref: "#/definitions/port" } },
    };
    expect(prunable(withRef)).toBe(false);
    expect(prunable(APPLICATORS)).toBe(true);
    expectSameErrors(withRef, [{ port: 1 }, { port: 70000 }, { port: "x" }, { port: [1] }]);
  });

  it("many shapes: the whole schema takes over with the same errors", () => {
    const values = Array.from({ length: 100 }, (_, i): Json => ({
      a: i,
      ...(i % 2 ? { b: [{ c: i % 3 ? "c" : 3 }] } : {}),
      [`k${i % 20}`]: i,
      m: { [`e${i}`]: i % 5 ? { n: i } : { n: "no" } },
    }));
    expectSameErrors(APPLICATORS, values, values.length);
  });

  it("a schema ajv refuses is refused with ajv's words, even where no value reaches", () => {
    const invalid: Schema[] = [
      { type: "object", properties: { far: { type: "strin" } } },
      { properties: { a: { required: "a" } }, additionalProperties: 3 },
      { properties: { a: { items: [{ minLength: -1 }], enum: "x" } } },
    ];
    for (const schema of invalid) {
      const ajvSays = (() => {
        try {
          new Ajv(AJV_OPTIONS).compile(schema);
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(ajvSays).toMatch(/^schema is invalid: /);
      expect(() => instanceValidator(schema, AJV_OPTIONS)).toThrow(ajvSays);
    }
  });

  it("checks schemas with the meta-schema validator generated from today's ajv (else: npm run build && node scripts/generate-meta-validator.mjs)", async () => {
    expect(readFileSync(GENERATED_FILE, "utf8")).toBe(await generatedMetaValidator(AJV_OPTIONS));
  });
});
