/**
 * The schema check of an edited spec (src/fleet/schema-problems.ts, `passed`): entries the edit kept,
 * object for object, are not checked again; everything else is, and reported where it is.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { textEdits } from "../src/fleet/edit.js";
import { parseFleet } from "../src/fleet/load.js";
import { readPlainYamlShared } from "../src/fleet/plain-yaml.js";
import { checkSchema } from "../src/fleet/schema-problems.js";
import { parseSpecYaml, type ParsedSpec } from "../src/fleet/source.js";
import { ExitCode, PromfleetError } from "../src/util/errors.js";

const HASH = "$2a$10$abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123";
const text = readFileSync(new URL("../fleet.yaml", import.meta.url), "utf8");

function parsed(t: string): ParsedSpec {
  return parseSpecYaml(t, "fleet.yaml") as ParsedSpec;
}

/** The example spec with one agent appended by the line edit, which shares the other entries' values. */
function appended(entry: { name: string; role: "agent"; values?: Record<string, unknown> }): ParsedSpec {
  const after = textEdits.append(text, { overlays: [], values: {}, passwordHash: HASH, ...entry });
  expect(after).toBeDefined();
  return parsed(after as string);
}

describe("the schema check of an edited spec", () => {
  const passed = readPlainYamlShared(text) as { clusters: unknown[] };

  it("shares the kept entries with the spec that passed (the premise of not checking them)", () => {
    const edited = appended({ name: "fresh", role: "agent" }).raw as { clusters: unknown[] };
    expect(edited.clusters.slice(0, -1).every((c, i) => c === passed.clusters[i])).toBe(true);
    expect(checkSchema(edited, appended({ name: "fresh", role: "agent" }), passed)).toEqual({
      fleet: edited,
    });
  });

  it("checks the entry the edit added, and reports it at its index", () => {
    const spec = appended({ name: "fresh", role: "agent", values: { "not a key": 1 } });
    const result = checkSchema(spec.raw, spec, passed);
    const index = passed.clusters.length;
    expect(result).toEqual({
      problems: [expect.objectContaining({ path: `clusters[${index}].values.not a key` })],
    });
    expect(result).toEqual(checkSchema(spec.raw, spec));
  });

  it("checks a changed field besides the clusters, and an empty clusters list", () => {
    const source = parsed(text);
    const fields = { ...(passed as object), kind: "Fleets" };
    expect(checkSchema(fields, source, passed)).toEqual({
      problems: [expect.objectContaining({ path: "kind" })],
    });
    expect(checkSchema({ ...(passed as object), clusters: [] }, source, passed)).toEqual({
      problems: [expect.objectContaining({ path: "clusters", message: "is an empty list" })],
    });
  });

  it("checks a shared entry again when it is not frozen (it may have changed since it passed)", () => {
    const mutable = JSON.parse(JSON.stringify(passed)) as { clusters: Array<Record<string, unknown>> };
    const source = parsed(text);
    expect(checkSchema(mutable, source)).toEqual({ fleet: mutable });
    (mutable.clusters[1] as Record<string, unknown>).role = "agnet";
    expect(checkSchema({ ...mutable }, source, mutable)).toEqual({
      problems: [expect.objectContaining({ path: "clusters[1].role" })],
    });
  });

  it("parseFleet with passedSchema refuses a bad new entry with exit 2", async () => {
    const after = textEdits.append(text, {
      name: "Bad_Name",
      role: "agent",
      overlays: [],
      values: {},
      passwordHash: HASH,
    }) as string;
    const load = parseFleet(after, new URL("..", import.meta.url).pathname, "fleet.yaml", {
      passedSchema: passed,
    });
    await expect(load).rejects.toBeInstanceOf(PromfleetError);
    await expect(load).rejects.toMatchObject({
      exitCode: ExitCode.badInput,
      problems: [expect.objectContaining({ path: `clusters[${passed.clusters.length}].name` })],
    });
  });
});
