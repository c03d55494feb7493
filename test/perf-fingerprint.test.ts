import { describe, expect, it } from "vitest";
import { canonicalJson } from "../src/render/fingerprint.js";

/** The reference: JSON.stringify with a replacer that sorts every object's keys. */
function sortedStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

describe("canonicalJson", () => {
  it("sorts keys at every depth and writes what JSON.stringify writes", () => {
    const value = { b: 1, a: [undefined, { d: undefined, c: 'x\n"y"' }, null], é: null, Z: true, n: -1.5 };
    expect(canonicalJson(value)).toBe(
      '{"Z":true,"a":[null,{"c":"x\\n\\"y\\""},null],"b":1,"n":-1.5,"é":null}',
    );
  });

  it("gives the reference's text for a cluster's fingerprint inputs", () => {
    const inputs = {
      fleet: "f".repeat(64),
      cluster: {
        name: "agent-1",
        role: "agent",
        overlays: ["a.yaml"],
        values: { "x.y": 2 },
        packageVersion: undefined,
      },
      dataValues: { remoteWrite: { url: "https://h/api/v1/write", caFile: null }, auth: { enabled: true } },
      files: [
        ["overlays/base/values.yaml", "0".repeat(64)],
        ["missing.yaml", null],
      ],
      when: new Date(0),
    };
    expect(canonicalJson(inputs)).toBe(sortedStringify(inputs));
    expect(canonicalJson(undefined)).toBe("null");
  });
});
