/**
 * A YAML file read whole on every run (the Package definition: 64 KB, ~0.1 s for the yaml library, as
 * much as the rest of validating one cluster) kept parsed, as JSON data (never code), under a hash of its
 * text and of the code that parses it (promfleet's build; from the sources, this module, fast-yaml and
 * the spec's fast reader) and the versions of yaml and js-yaml. Any other text or parser is parsed
 * again; an entry that is not what this module writes is ignored, and a value JSON cannot hold (.nan,
 * .inf, -0) is never cached.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../util/atomic-write.js";
import { buildHash } from "../util/build-hash.js";
import { survivesJson } from "../util/cache-dir.js";
import { sha256Hex } from "../util/sha256.js";
import { parsedYamlCacheDir } from "./crd-cache.js";
import { parseYaml } from "./fast-yaml.js";

/** parseYaml(text) (throwing what it throws), from the cache in `dir` when it holds the text's value. */
export async function parseYamlCached(text: string, dir = parsedYamlCacheDir()): Promise<unknown> {
  const file = parsedYamlCacheFile(text, dir);
  const cached = readEntry(file);
  if (cached) return cached.value;
  const value = parseYaml(text);
  if (survivesJson(value)) await writeFileAtomic(file, JSON.stringify({ value })).catch(() => undefined); // a read-only cache only costs time
  return value;
}

/** The entry for `text` in `dir`. */
export function parsedYamlCacheFile(text: string, dir: string): string {
  return path.join(dir, `${sha256Hex(`${parserIdentity()}\n${sha256Hex(text)}`)}.json`);
}

let identity: string | undefined;

function parserIdentity(): string {
  if (identity === undefined) {
    const require = createRequire(import.meta.url);
    const versions = ["yaml", "js-yaml"].map(
      (p) => (require(`${p}/package.json`) as { version: string }).version,
    );
    identity = [parserCodeHash(), ...versions].join("\n");
  }
  return identity;
}

/**
 * The parsing code's hash: this module, fast-yaml and the spec's fast reader as the tests run them from
 * their sources; built, the whole build's (the bundle has no module files of their own to hash).
 */
function parserCodeHash(): string {
  const ext = path.extname(fileURLToPath(import.meta.url));
  if (ext !== ".ts") return buildHash();
  return ["./yaml-cache", "./fast-yaml", "../fleet/plain-yaml"]
    .map((m) => sha256Hex(readFileSync(fileURLToPath(new URL(`${m}${ext}`, import.meta.url)))))
    .join("\n");
}

function readEntry(file: string): { value: unknown } | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return typeof entry === "object" && entry !== null && "value" in entry
      ? (entry as { value: unknown })
      : undefined;
  } catch {
    return undefined;
  }
}
