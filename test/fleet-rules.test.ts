import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import { loadFleet, parseFleet } from "../src/fleet/load.js";
import type { RawCluster, RawFleet } from "../src/fleet/schema.js";
import type { Delivery, Role } from "../src/fleet/spec.js";
import { parseDuration } from "../src/util/duration.js";
import { PromfleetError, type Problem } from "../src/util/errors.js";
import { MINIMAL_FLEET as VALID, promfleet } from "./helpers/fleet-repo.js";
import { problemsOf } from "./helpers/spec-problems.js";

/** What a user must never read: wording of the schema and YAML libraries rather than of the spec. */
const LIBRARY_WORDING =
  /must be object|must NOT have|must match|must be array|must be string|parseAllDocuments/;

async function onlyProblem(text: string, root?: string): Promise<Problem> {
  const problems = await problemsOf(text, root);
  expect(problems).toHaveLength(1);
  return problems[0] as Problem;
}

function withAggregator(field: string): string {
  return VALID.replace("    role: aggregator\n", `    role: aggregator\n    ${field}\n`);
}

function withAgent(field: string): string {
  return VALID + `    ${field}\n`;
}

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "promfleet-rules-"));
}

describe("values Prometheus 2.43 rejects or ignores", () => {
  it("rejects a retention beyond int64 nanoseconds, which Prometheus refuses at start", async () => {
    // 2^63-1 ns = 106751d 23h 47m 16.854775807s; the boundary is exact, not floating point.
    await expect(
      parseFleet(withAggregator("retention: 106751d23h47m16s854ms"), "/r", "fleet.yaml", {
        requireCredentials: false,
      }),
    ).resolves.toBeDefined();
    for (const retention of ["106751d23h47m16s855ms", "106752d", "293y", "99999999999999999999y"]) {
      const p = await onlyProblem(withAggregator(`retention: ${retention}`));
      expect(p).toMatchObject({ path: "clusters[0].retention", line: 11 });
      expect(p.message).toContain("duration out of range");
      expect(p.fix).toContain("292y");
    }
    const agent = await onlyProblem(withAgent("retention: 300y"));
    expect(agent).toMatchObject({ path: "clusters[1].retention", line: 15 });
    expect(agent.message).toContain("duration out of range");
  });

  it("rejects a zero retention, which Prometheus silently replaces with its default", async () => {
    for (const zero of ["0s", "0", "0d0h", "0ms"]) {
      const p = await onlyProblem(withAggregator(`retention: "${zero}"`));
      expect(p).toMatchObject({ path: "clusters[0].retention", line: 11 });
      expect(p.message).toContain("15d");
      expect(p.fix).toMatch(/retention/);
    }
    const agent = await onlyProblem(withAgent("retention: 0m"));
    expect(agent.path).toBe("clusters[1].retention");
    expect(agent.message).toContain("4h");
  });

  it("explains Prometheus' unit order", async () => {
    const p = await onlyProblem(withAggregator("retention: 1m1d"));
    expect(p.path).toBe("clusters[0].retention");
    expect(p.fix).toContain("largest unit first");
  });

  it("rejects a zero or empty storage size", async () => {
    for (const size of ["0", "0Gi", "0.0Mi"]) {
      const p = await onlyProblem(withAgent(`storage: "${size}"`));
      expect(p).toMatchObject({ path: "clusters[1].storage", line: 15 });
      expect(p.message).toContain("zero");
      expect(p.fix).toContain("1Gi");
    }
    const empty = await onlyProblem(withAggregator('storage: ""'));
    expect(empty).toMatchObject({ path: "clusters[0].storage", line: 11 });
    expect(empty.message).toContain("empty");
    expect(empty.message).not.toMatch(LIBRARY_WORDING);
  });

  it("rejects a remote-write URL without a path, and one carrying a password", async () => {
    for (const url of ["https://hub.example.com", "https://hub.example.com/"]) {
      const p = await onlyProblem(VALID + `remoteWrite:\n  url: ${url}\n`);
      expect(p).toMatchObject({ path: "remoteWrite.url", line: 16 });
      expect(p.message).toContain("no path");
      expect(p.fix).toContain("/api/v1/write");
    }
    const secret = await onlyProblem(
      VALID + "remoteWrite:\n  url: https://edge:s3cret@hub.example.com/api/v1/write\n",
    );
    expect(secret.path).toBe("remoteWrite.url");
    expect(secret.message).toContain("password");
    expect(JSON.stringify(secret)).not.toContain("s3cret");
  });

  it("rejects a syncPeriod or Flux interval Go cannot hold", async () => {
    const problems = await problemsOf(
      VALID + "app:\n  syncPeriod: 9999999999h\nflux:\n  interval: 2562048h\n",
    );
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ["app.syncPeriod", 16],
      ["flux.interval", 18],
    ]);
    for (const p of problems) expect(p.message).toContain("out of range");
    // 2562047h is the largest whole number of hours below 2^63-1 ns.
    await expect(
      parseFleet(VALID + "flux:\n  interval: 2562047h\n", "/r", "fleet.yaml", { requireCredentials: false }),
    ).resolves.toBeDefined();
  });
});

describe("messages in the user's terms", () => {
  it("explains wrong types, empty lists and lengths without schema-library wording", async () => {
    const cases: [string, string, RegExp][] = [
      [VALID.replace(/package:\n( {2}.*\n)+/, "package: prometheus\n"), "package", /mapping/],
      [VALID.replace(/clusters:\n[^]*$/, "clusters: []\n"), "clusters", /empty/],
      [VALID.replace(/clusters:\n[^]*$/, "clusters: hub\n"), "clusters", /list/],
      [VALID + "guardClusterLabel: yes please\n", "guardClusterLabel", /true or false/],
      [VALID.replace("name: hub", `name: ${"a".repeat(64)}`), "clusters[0].name", /63/],
      [VALID.replace("version: 2.43.0+vmware.2-tkg.1", 'version: ""'), "package.version", /empty/],
      [VALID.replace("role: agent", "role: agnt"), "clusters[1].role", /did you mean "agent"/],
      ["- name: hub\n", "", /the fleet spec is a list/],
    ];
    for (const [text, where, meaning] of cases) {
      const problems = await problemsOf(text);
      const p = problems.find((q) => q.path === where);
      expect(p, `${where} in ${JSON.stringify(problems)}`).toBeDefined();
      expect(`${p?.message} ${p?.fix}`).toMatch(meaning);
      for (const q of problems) expect(`${q.message} ${q.fix}`).not.toMatch(LIBRARY_WORDING);
    }
  });

  it("explains a file with several YAML documents, pointing at the second", async () => {
    const p = await onlyProblem(VALID + "---\n" + VALID);
    expect(p.line).toBe(15);
    expect(p.message).toContain("2 YAML documents");
    expect(p.fix).toContain("---");
    expect(`${p.message} ${p.fix}`).not.toMatch(LIBRARY_WORDING);
    // A leading document marker or a trailing empty document is still one fleet.
    await expect(
      parseFleet("---\n" + VALID + "---\n", "/r", "fleet.yaml", { requireCredentials: false }),
    ).resolves.toBeDefined();
  });

  it("explains an empty file", async () => {
    for (const empty of ["", "# only a comment\n", "---\n"]) {
      const p = await onlyProblem(empty);
      expect(p.message).toBe("the fleet spec is empty");
      expect(p.fix).toContain("promfleet init");
    }
  });

  it("supports YAML merge keys, and locates a problem where the merged value is written", async () => {
    const merged =
      VALID +
      "    retention: 10m\n    storage: 2Gi\n    walPath: &wal /data/wal\n" +
      "  - &edge\n    name: edge-2\n    role: agent\n    retention: 20m\n" +
      "  - <<: *edge\n    name: edge-3\n    walPath: *wal\n";
    const spec = await parseFleet(merged, "/r", "fleet.yaml", { requireCredentials: false });
    expect(spec.clusters.map((c) => [c.name, c.role, c.retention, c.walPath])).toEqual([
      ["hub", "aggregator", "15d", undefined],
      ["edge-1", "agent", "10m", "/data/wal"],
      ["edge-2", "agent", "20m", "/data/agent-wal"],
      ["edge-3", "agent", "20m", "/data/wal"],
    ]);
    const problems = await problemsOf(merged.replace("retention: 20m", "retention: 20 minutes"));
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ["clusters[2].retention", 21],
      ["clusters[3].retention", 21],
    ]);
  });
});

describe("commands run where there is no fleet", () => {
  it("names the missing file and how to point promfleet at a fleet", async () => {
    const dir = await tempDir();
    const error = await loadFleet(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromfleetError);
    const { exitCode, problems, message } = error as PromfleetError;
    expect(exitCode).toBe(2);
    expect(message).not.toContain("ENOENT");
    expect(problems).toHaveLength(1);
    expect(problems[0]?.file).toBe("fleet.yaml");
    expect(problems[0]?.message).toContain(dir);
    expect(problems[0]?.fix).toContain("promfleet init");
    expect(problems[0]?.fix).toContain("-C DIR");
    expect(problems[0]?.fix).toContain("-f FILE");
  });

  it("says when the spec path is a folder", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "fleet.yaml"));
    const error = (await loadFleet(dir).catch((e: unknown) => e)) as PromfleetError;
    expect(error.exitCode).toBe(2);
    expect(error.problems[0]?.message).toContain("is a folder");
  });

  it("exits 2 through the CLI with no stack trace", async () => {
    const dir = await tempDir();
    const result = await promfleet(dir, ["render"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("promfleet init");
    expect(result.stderr).not.toMatch(/ENOENT|\n\s+at /);
  });
});

describe("package definition", () => {
  const PACKAGE = "packages/prometheus.tanzu.vmware.com.yaml";
  const withDefinition = (file: string) =>
    VALID.replace(
      "  version: 2.43.0+vmware.2-tkg.1\n",
      `  version: 2.43.0+vmware.2-tkg.1\n  definition: ${file}\n`,
    );

  it("is the repository-relative path of a committed file", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "packages"));
    await writeFile(path.join(dir, PACKAGE), "kind: Package\n");
    const spec = await parseFleet(withDefinition(PACKAGE), dir, "fleet.yaml", { requireCredentials: false });
    expect(spec.package.definition).toBe(PACKAGE);
    const without = await parseFleet(VALID, dir, "fleet.yaml", { requireCredentials: false });
    expect(without.package.definition).toBeUndefined();
  });

  it("must exist inside the repository", async () => {
    const dir = await tempDir();
    const missing = await onlyProblem(withDefinition(PACKAGE), dir);
    expect(missing).toMatchObject({ path: "package.definition", line: 6 });
    expect(missing.message).toContain("does not exist");
    expect(missing.fix).toContain("kubectl get package");
    const escaping = await onlyProblem(withDefinition("../package.yaml"), dir);
    expect(escaping.path).toBe("package.definition");
    const outside = await tempDir();
    await writeFile(path.join(outside, "package.yaml"), "kind: Package\n");
    await symlink(path.join(outside, "package.yaml"), path.join(dir, "linked.yaml"));
    const linked = await onlyProblem(withDefinition("linked.yaml"), dir);
    expect(linked.message).toContain("outside the repository");
  });
});

describe("values key paths", () => {
  it("rejects __proto__, constructor and prototype as a segment, at any depth", async () => {
    for (const key of ["__proto__.polluted", "prometheus.constructor", "a.prototype.b", "__proto__"]) {
      const p = await onlyProblem(withAgent(`values: { "${key}": 1 }`));
      expect(p).toMatchObject({ path: `clusters[1].values.${key}`, line: 15 });
      expect(p.message).toContain("other clusters");
      expect(p.fix).toMatch(/rename|remove/);
    }
    const nested = await onlyProblem(withAgent("values:\n      prometheus:\n        __proto__: { x: 1 }"));
    expect(nested).toMatchObject({ path: "clusters[1].values.prometheus.__proto__", line: 17 });
  });
});

describe("durations, one parser for the spec and the flags", () => {
  it("reads Prometheus' syntax and range", () => {
    expect(parseDuration("1h30m", "--wait")).toBe(5400);
    expect(parseDuration("1d12h", "--wait")).toBe(129600);
    expect(parseDuration("250ms", "--wait")).toBe(0.25);
    expect(() => parseDuration("30m1h", "--wait")).toThrow(/--wait 30m1h: not a duration/);
    expect(() => parseDuration("300y", "--max-staleness")).toThrow(/out of range/);
  });
});

describe("the spec's TypeScript type comes from its JSON schema", () => {
  it("derives required, optional and enumerated fields", () => {
    expectTypeOf<RawCluster["role"]>().toEqualTypeOf<Role>();
    expectTypeOf<RawCluster["name"]>().toEqualTypeOf<string>();
    expectTypeOf<RawCluster["delivery"]>().toEqualTypeOf<Delivery | undefined>();
    expectTypeOf<RawFleet["clusters"]>().toEqualTypeOf<RawCluster[]>();
    expectTypeOf<RawFleet["package"]["definition"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RawFleet["remoteWrite"]>().toEqualTypeOf<
      | {
          url?: string;
          auth?: "basic" | "none";
          tls?: { insecureSkipVerify?: boolean; caSecret?: string };
          receiver?: {
            kind: "aggregator" | "thanos-receive" | "mimir" | "victoriametrics";
            queryUrl?: string;
            tenancy?: "per-cluster" | "shared" | "none";
            tenant?: string;
            aggregatorCluster?: "agent" | "keep";
          };
        }
      | undefined
    >();
    // @ts-expect-error a key the schema does not have is not in the type
    const unknownKey: RawCluster = { name: "x", role: "agent", retension: "5m" };
    expect(unknownKey.name).toBe("x");
  });
});
