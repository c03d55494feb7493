/**
 * The local CRD cache, $XDG_CACHE_HOME/promfleet/crds/<pin version>/: where it is, whether it is complete
 * and unaltered (every file re-checked against its pinned sha256 on each use), and storing into it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { promfleetCacheDir } from "../util/cache-dir.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { sha256Hex } from "../util/sha256.js";
import { pinnedFiles, type PinnedCrds } from "./crd-pins.js";

/** $XDG_CACHE_HOME/promfleet/crds/<version>, else ~/.cache/promfleet/crds/<version>. */
export function crdCacheDir(pins: PinnedCrds, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(promfleetCacheDir("crds", env), pins.version);
}

/** Where the schemas read from CRD files are kept, by the files' hash (see CrdValidator.load). */
export function crdSchemaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return promfleetCacheDir("crd-schemas", env);
}

/** Where YAML files validate reads whole (the Package definition) are kept parsed, as JSON data. */
export function parsedYamlCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return promfleetCacheDir("parsed-yaml", env);
}

/**
 * The cached files when every one is there with its pinned checksum; undefined when the cache is
 * empty or incomplete. A file whose checksum differs is an error: the cache was altered.
 */
export async function cachedCrds(pins: PinnedCrds, dir: string): Promise<string[] | undefined> {
  const files = pinnedFiles(pins);
  const paths = files.map((f) => path.join(dir, f.name));
  if (!paths.every((p) => existsSync(p))) return undefined;
  for (const [i, f] of files.entries()) {
    const got = sha256Hex(await readFile(paths[i] as string));
    if (got !== f.sha256)
      throw new PromfleetError(
        `${paths[i]}: sha256 ${got} is not the pinned ${f.sha256}\n` +
          `fix: delete ${dir} and run promfleet validate --fetch-crds, or pass --crds DIR`,
        ExitCode.badInput,
      );
  }
  return paths;
}

/** Stores verified files in the cache, each atomically; returns their paths. */
export function storeCrds(dir: string, files: { name: string; data: Uint8Array }[]): Promise<string[]> {
  return Promise.all(
    files.map(async ({ name, data }) => {
      const file = path.join(dir, name);
      await writeFileAtomic(file, data);
      return file;
    }),
  );
}
