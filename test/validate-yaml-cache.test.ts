/**
 * validate keeps the Package definition parsed, as JSON data keyed by its text and the parser's code
 * (src/validate/yaml-cache.ts): a second run reads the entry, other text never does, an entry that is
 * not what the cache writes is parsed again, and values JSON cannot hold are never cached.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parsedYamlCacheFile, parseYamlCached } from "../src/validate/yaml-cache.js";
import { fixturesDir } from "./helpers/fleet-repo.js";

const cacheDir = () => mkdtemp(path.join(os.tmpdir(), "promfleet-yaml-cache-"));
const packageText = () =>
  readFile(path.join(fixturesDir, "tce-prometheus-package-2.37.0", "package.yaml"), "utf8");

describe("the parsed-YAML cache", () => {
  it("gives the yaml library's value, first parsed, then from its entry", async () => {
    const [dir, text] = [await cacheDir(), await packageText()];
    expect(await parseYamlCached(text, dir)).toEqual(parse(text));
    const entry = parsedYamlCacheFile(text, dir);
    expect(JSON.parse(await readFile(entry, "utf8"))).toEqual({ value: parse(text) });
    // the entry is what the second read returns: doctored, the doctored value comes back
    await writeFile(entry, JSON.stringify({ value: { from: "the cache" } }));
    expect(await parseYamlCached(text, dir)).toEqual({ from: "the cache" });
  });

  it("other text (one character) is parsed, not read from another text's entry", async () => {
    const [dir, text] = [await cacheDir(), await packageText()];
    await parseYamlCached(text, dir);
    await writeFile(parsedYamlCacheFile(text, dir), JSON.stringify({ value: { from: "the cache" } }));
    const edited = text.replace("version: 2.37.0", "version: 2.37.1");
    expect(parsedYamlCacheFile(edited, dir)).not.toBe(parsedYamlCacheFile(text, dir));
    expect(await parseYamlCached(edited, dir)).toEqual(parse(edited));
  });

  it("an entry that is not JSON, or not { value }, is parsed again", async () => {
    const [dir, text] = [await cacheDir(), "a: 1\nb: [x, 'y']\n"];
    for (const junk of ["{not json", "[1]", "null", '{"other": 1}']) {
      await writeFile(parsedYamlCacheFile(text, dir), junk);
      expect(await parseYamlCached(text, dir)).toEqual({ a: 1, b: ["x", "y"] });
    }
  });

  it("caches no value JSON would change, and no text that does not parse", async () => {
    const dir = await cacheDir();
    for (const text of ["a: .nan\n", "a: .inf\n", "a: -0\n"]) {
      expect(await parseYamlCached(text, dir)).toEqual(parse(text));
      expect(existsSync(parsedYamlCacheFile(text, dir)), text).toBe(false);
    }
    await expect(parseYamlCached("a: [1,\n", dir)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});
