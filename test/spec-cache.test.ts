/**
 * The parsed spec kept between runs ($XDG_CACHE_HOME/promfleet/specs/): an entry is used only for the
 * very text and reader it was made from, a broken entry costs only the parse, and the CLI keeps one.
 */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { readPlainYaml, readPlainYamlShared } from "../src/fleet/plain-yaml.js";
import { specValueStore } from "../src/fleet/spec-cache.js";
import { exampleFleetRepo, promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";

const TEXT_A = "apiVersion: v1\nclusters:\n  - name: a\n    retention: 5m\n";
const TEXT_B = TEXT_A.replace("5m", "6m");

async function store(identity = "reader-1") {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-spec-cache-"));
  return { dir, store: specValueStore("/fleet/fleet.yaml", dir, () => identity) };
}

const entryFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith(".json"));

describe("the spec cache's entries", () => {
  it("gives back what was stored for the same text, as it was stored", async () => {
    const { store: s } = await store();
    const value = { apiVersion: "v1", clusters: [{ name: "a", n: 1, f: 1.5, t: true, z: null }] };
    s?.set(TEXT_A, value);
    expect(s?.get(TEXT_A)).toEqual(value);
  });

  it("a stored value is what readPlainYamlShared returns, instead of parsing (so it must be right)", async () => {
    const { store: s } = await store();
    const text = `${TEXT_A}# planted ${Date.now()}\n`; // not in readPlainYamlShared's recent texts
    s?.set(text, { planted: true });
    expect(readPlainYamlShared(text, s)).toEqual({ planted: true });
  });

  it("never answers for another text, nor for another reader (promfleet's build, js-yaml's version)", async () => {
    const { dir, store: s } = await store("reader-1");
    s?.set(TEXT_A, { planted: true });
    expect(s?.get(TEXT_B)).toBeUndefined();
    expect(specValueStore("/fleet/fleet.yaml", dir, () => "reader-2")?.get(TEXT_A)).toBeUndefined();
    // a miss parses the text, and stores that
    const text = `${TEXT_B}# ${Date.now()}\n`;
    expect(readPlainYamlShared(text, s)).toEqual(load(text));
    expect(s?.get(text)).toEqual(load(text));
  });

  it.each([
    ["garbage", () => "not json"],
    ["a truncated entry", (entry: string) => entry.slice(0, entry.length - 5)],
    ["a value that is not a mapping", (entry: string) => entry.replace(/"value":.*$/s, '"value":[1]}')],
    ["an empty file", () => ""],
  ])("%s is a miss, and the next read stores the entry again", async (_name, corrupt) => {
    const { dir, store: s } = await store();
    s?.set(TEXT_A, { planted: true });
    const [file] = await entryFiles(dir);
    const entry = path.join(dir, file as string);
    await writeFile(entry, corrupt(await readFile(entry, "utf8")));
    expect(s?.get(TEXT_A)).toBeUndefined();
    const text = `${TEXT_A}# ${Date.now()} ${_name}\n`;
    expect(readPlainYamlShared(text, s)).toEqual(readPlainYaml(text));
    expect(s?.get(text)).toEqual(readPlainYaml(text));
  });

  it("does not store what JSON cannot carry (NaN, infinities, -0)", async () => {
    const { dir, store: s } = await store();
    for (const value of [{ a: NaN }, { a: [Infinity] }, { a: { b: -0 } }]) s?.set(TEXT_A, value);
    expect(await entryFiles(dir)).toEqual([]);
    const text = "a: .nan\nb: -.inf\nc: -0.0\n";
    expect(readPlainYamlShared(text, s)).toEqual({ a: NaN, b: -Infinity, c: -0 });
    expect(await entryFiles(dir)).toEqual([]);
  });

  it("keeps one entry per spec file and at most 8", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-spec-cache-"));
    for (let i = 0; i < 12; i++) {
      specValueStore(`/fleet-${i}/fleet.yaml`, dir, () => "r")?.set(TEXT_A, { i });
      specValueStore(`/fleet-${i}/fleet.yaml`, dir, () => "r")?.set(TEXT_B, { i });
    }
    expect(await entryFiles(dir)).toHaveLength(8);
    expect(specValueStore("/fleet-11/fleet.yaml", dir, () => "r")?.get(TEXT_B)).toEqual({ i: 11 });
  });
});

describe("the CLI's spec cache", () => {
  it("render keeps an entry, a render from it is the same, and an edited spec is read anew", async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), "promfleet-xdg-"));
    const env = { XDG_CACHE_HOME: cache };
    const dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"], env)).code).toBe(0);
    const specs = path.join(cache, "promfleet", "specs");
    const [file] = await entryFiles(specs);
    const entry = JSON.parse(await readFile(path.join(specs, file as string), "utf8")) as { value: unknown };
    expect(entry.value).toEqual(load(await readRepoFile(dir, "fleet.yaml")));
    expect((await promfleet(dir, ["render", "--check"], env)).code).toBe(0);

    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("retention: 42d", "retention: 41d"));
    const check = await promfleet(dir, ["render", "--check", "--json"], env);
    expect(check.code, check.stderr).toBe(1);
    expect((JSON.parse(check.stdout) as { rendered: string[] }).rendered).toEqual(["orbstack"]);
  });
});
