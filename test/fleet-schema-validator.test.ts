import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AJV_OPTIONS,
  GENERATED_FILE,
  generatedValidator,
  schemaHash,
} from "../scripts/generate-fleet-validator.mjs";
import { SCHEMA_SHA256, validate } from "../src/fleet/fleet-validator.generated.js";
import { fleetSchema } from "../src/fleet/schema.js";

const example = parse(readFileSync(new URL("../fleet.yaml", import.meta.url), "utf8")) as Record<
  string,
  unknown
>;

describe("the precompiled fleet schema validator", () => {
  it("is generated from today's schema (else: npm run build && node scripts/generate-fleet-validator.mjs)", async () => {
    expect(SCHEMA_SHA256).toBe(schemaHash(fleetSchema));
    expect(readFileSync(GENERATED_FILE, "utf8")).toBe(await generatedValidator(fleetSchema));
  });

  it("reports exactly what ajv compiling the schema reports", () => {
    const compiled = new Ajv(AJV_OPTIONS).compile(fleetSchema);
    const clusters = example.clusters as Record<string, unknown>[];
    const specs: unknown[] = [
      example,
      { ...example, kind: "Fleets", extra: 1 },
      { ...example, clusters: [] },
      { ...example, clusters: [{ ...clusters[0], role: "agnet", retention: 5 }, { name: "" }] },
      { ...example, package: { version: "" } },
      "not a mapping",
    ];
    const precompiled = validate as unknown as typeof compiled;
    for (const spec of specs) {
      const ok = compiled(spec);
      expect(precompiled(spec)).toBe(ok);
      expect(precompiled.errors ?? null).toEqual(compiled.errors ?? null);
    }
    expect(compiled(example)).toBe(true);
  });
});
