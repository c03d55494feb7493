/**
 * What a render that finds nothing changed loads: not the yaml library (js-yaml reads the spec, and
 * rendered YAML is written directly), whose modules cost about 30 ms of a 0.4 s command.
 */
import { execa } from "execa";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, repoRoot } from "./helpers/fleet-repo.js";

/** Runs the built CLI in one process, then reports whether any module of the yaml package was loaded. */
const PROBE = `
import { createRequire } from "node:module";
import { main } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, "dist", "cli.js")).href)};
await main(["node", "promfleet", ...process.argv.slice(1)]);
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("/node_modules/yaml/"));
process.stderr.write("\\nPROBE " + JSON.stringify({ yaml: loaded.length > 0, exitCode: process.exitCode ?? 0 }) + "\\n");
`;

async function probe(dir: string, args: string[]): Promise<{ yaml: boolean; exitCode: number }> {
  const result = await execa("node", ["--input-type=module", "-e", PROBE, "--", "-C", dir, ...args], {
    reject: false,
    env: { NO_COLOR: "1" },
  });
  const line = result.stderr.split("\n").find((l) => l.startsWith("PROBE "));
  expect(line, result.stderr).toBeDefined();
  return JSON.parse((line as string).slice("PROBE ".length)) as { yaml: boolean; exitCode: number };
}

describe("a no-change render's start", () => {
  it("render and render --check on an up-to-date tree never load the yaml library", async () => {
    const dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    expect(await probe(dir, ["render", "--json"])).toEqual({ yaml: false, exitCode: 0 });
    expect(await probe(dir, ["render", "--check", "--json"])).toEqual({ yaml: false, exitCode: 0 });
  });

  it("the probe sees the library when a command needs it: a spec problem is located in its document", async () => {
    const dir = await exampleFleetRepo();
    const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    await writeFile(path.join(dir, "fleet.yaml"), spec.replace(/retention: \S+/, "retention: forever"));
    expect(await probe(dir, ["render", "--check", "--json"])).toEqual({ yaml: true, exitCode: 2 });
  });
});
