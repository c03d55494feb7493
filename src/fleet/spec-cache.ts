/**
 * The spec's parsed value, kept between runs: reading a fleet.yaml of 10,000 clusters with js-yaml costs
 * about 0.3 s on every command, reading the same value back as JSON a tenth of that. One entry per spec
 * file, in $XDG_CACHE_HOME/promfleet/specs/ (outside the repository: a file in the checkout, even a
 * git-ignored one, could be committed by a pull request and make the checks see another spec than the
 * one reviewed). An entry is named by the spec's absolute path and holds a key: the sha256 of the text
 * and of the code that reads it (promfleet's build, js-yaml's version), so an entry can only ever be
 * used for the very text and code it was made from; anything else in the file (another key, broken
 * JSON, a value that is not a mapping) is a miss, which costs the parse it would have saved.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { buildHash } from "../util/build-hash.js";
import { promfleetCacheDir, survivesJson } from "../util/cache-dir.js";
import { sha256Hex } from "../util/sha256.js";
import type { PlainValue, PlainValueStore } from "./plain-yaml.js";

/** Entries kept: one per spec file read lately; the least recently written go first. */
const ENTRIES_KEPT = 8;

/** $XDG_CACHE_HOME/promfleet/specs, else ~/.cache/promfleet/specs. */
export function specCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return promfleetCacheDir("specs", env);
}

/** What, besides the text, decides the value: promfleet's compiled code and js-yaml's version. */
export function readerIdentity(): string {
  const jsYaml = createRequire(import.meta.url)("js-yaml/package.json") as { version: string };
  return `${buildHash()}\0js-yaml ${jsYaml.version}`;
}

/**
 * The store of `specFile`'s (absolute) parsed value in `dir`. Undefined when promfleet runs from its
 * TypeScript sources (its tests): the build hash names the compiled code, not the code running.
 */
export function specValueStore(
  specFile: string,
  dir = specCacheDir(),
  identity: () => string = readerIdentity,
): PlainValueStore | undefined {
  if (import.meta.url.endsWith(".ts") && identity === readerIdentity) return undefined;
  const file = path.join(dir, `${sha256Hex(specFile).slice(0, 32)}.json`);
  let last: { text: string; prefix: string } | undefined;
  const prefixOf = (text: string) => {
    if (last?.text !== text)
      last = { text, prefix: `{"key":"${sha256Hex(`${identity()}\0${text}`)}","value":` };
    return last.prefix;
  };
  return {
    get: (text) => readEntry(file, prefixOf(text)),
    set: (text, value) => {
      if (survivesJson(value)) writeEntry(dir, file, `${prefixOf(text)}${JSON.stringify(value)}}\n`);
    },
  };
}

function readEntry(file: string, prefix: string): PlainValue | undefined {
  try {
    const text = readFileSync(file, "utf8");
    if (!text.startsWith(prefix)) return undefined;
    const value = (JSON.parse(text) as { value?: unknown }).value;
    return isMapping(value) ? (value as PlainValue) : undefined;
  } catch {
    return undefined;
  }
}

/** Written atomically (a reader sees the old entry or the new one); a failure only loses the entry. */
function writeEntry(dir: string, file: string, content: string): void {
  const staged = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(staged, content, { mode: 0o600 });
    renameSync(staged, file);
    pruneEntries(dir);
  } catch {
    try {
      unlinkSync(staged);
    } catch {
      // nothing was staged
    }
  }
}

function pruneEntries(dir: string): void {
  const entries = readdirSync(dir).filter((f) => f.endsWith(".json"));
  if (entries.length <= ENTRIES_KEPT) return;
  const byAge = entries
    .map((f) => ({ file: path.join(dir, f), mtime: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => a.mtime - b.mtime);
  for (const old of byAge.slice(0, entries.length - ENTRIES_KEPT)) unlinkSync(old.file);
}

function isMapping(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
