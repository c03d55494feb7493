import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { CrdValidator } from "./crd.js";

export interface PinnedFile {
  /** File name inside the cache folder. */
  name: string;
  url: string;
  /** sha256 of the release asset, hex; undefined while nobody has recorded it. */
  sha256?: string;
}

/** A set of upstream release manifests holding the CRDs promfleet's output uses. */
export interface PinnedCrds {
  /** Names the cache folder: ~/.cache/promfleet/crds/<version>/. */
  version: string;
  files: PinnedFile[];
}

/**
 * The releases whose CRDs `validate --fetch-crds` downloads. Each manifest also holds Deployments and
 * RBAC; only its CustomResourceDefinitions are used. To bump or pin: `curl -sL <url> | sha256sum`.
 */
export const PINNED_CRDS: PinnedCrds = {
  version: "kapp-controller-v0.53.1+flux-v2.4.0",
  files: [
    {
      name: "kapp-controller-release.yml",
      url: "https://github.com/carvel-dev/kapp-controller/releases/download/v0.53.1/release.yml",
      // Not recorded yet: it was written without network access to GitHub.
      sha256: undefined,
    },
    {
      name: "flux-install.yaml",
      url: "https://github.com/fluxcd/flux2/releases/download/v2.4.0/install.yaml",
      // From a public Nix expression's fetchurl hash (sha256-yGqnc8nw…); re-check when bumping.
      sha256: "c86aa773c9f05fb2e13d36bb23ba0f2fc1da646f242916f13b05faa513db2ce5",
    },
  ],
};

const FETCH_TIMEOUT_MS = 60_000;

/** $XDG_CACHE_HOME/promfleet/crds/<version>, else ~/.cache/promfleet/crds/<version>. */
export function crdCacheDir(pins: PinnedCrds, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "promfleet", "crds", pins.version);
}

export interface CrdSource {
  validator: CrdValidator;
  /** Where the CRDs came from, for the report. */
  from: string;
}

/**
 * The CRDs to validate against: the --crds paths when given; else the pinned releases, downloaded
 * when `fetch` is set, or from the cache when an earlier --fetch-crds left them there; else undefined.
 */
export async function resolveCrds(
  o: { crds: string[]; fetch?: boolean },
  pins: PinnedCrds = PINNED_CRDS,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CrdSource | undefined> {
  if (o.crds.length > 0) return { validator: await loadGiven(o.crds), from: o.crds.join(", ") };
  const dir = crdCacheDir(pins, env);
  const paths = o.fetch ? await fetchCrds(pins, dir) : await cachedCrds(pins, dir);
  return paths && { validator: await CrdValidator.load(paths), from: dir };
}

async function loadGiven(paths: string[]): Promise<CrdValidator> {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new PromfleetError(`--crds ${missing.join(", ")}: no such file or folder`, ExitCode.badInput);
  const validator = await CrdValidator.load(paths);
  if (validator.size === 0)
    throw new PromfleetError(
      `--crds ${paths.join(", ")}: no CustomResourceDefinition with a schema in there (.yaml/.yml files)`,
      ExitCode.badInput,
    );
  return validator;
}

/**
 * The cached files when every one is there with its pinned checksum; undefined when the cache is
 * empty or incomplete. A file whose checksum differs is an error: the cache was altered.
 */
export async function cachedCrds(pins: PinnedCrds, dir: string): Promise<string[] | undefined> {
  const paths = pins.files.map((f) => path.join(dir, f.name));
  if (!paths.every((p) => existsSync(p))) return undefined;
  for (const [i, f] of pins.files.entries()) {
    const got = sha256(await readFile(paths[i] as string));
    if (got !== f.sha256)
      throw new PromfleetError(
        `${paths[i]}: sha256 ${got} is not the pinned ${f.sha256 ?? "(none)"} of ${f.url}\n` +
          `fix: delete ${dir} and run promfleet validate --fetch-crds, or pass --crds DIR`,
        ExitCode.badInput,
      );
  }
  return paths;
}

/** Downloads every pinned file, checks its sha256, then stores it in `dir`; nothing is stored on a mismatch. */
export async function fetchCrds(pins: PinnedCrds, dir: string): Promise<string[]> {
  const unpinned = pins.files.filter((f) => !f.sha256);
  if (unpinned.length > 0)
    throw new PromfleetError(
      `no checksum is pinned for ${unpinned.map((f) => f.url).join(", ")}, so promfleet will not download it\n` +
        `fix: pass --crds DIR with the kapp-controller and Flux CRDs (or record the sha256 in src/validate/crd-source.ts)`,
      ExitCode.badInput,
    );
  const bodies = await Promise.all(pins.files.map((f) => download(f)));
  await mkdir(dir, { recursive: true });
  return Promise.all(
    pins.files.map(async (f, i) => {
      const file = path.join(dir, f.name);
      await writeFile(`${file}.${process.pid}.tmp`, bodies[i] as Buffer);
      await rename(`${file}.${process.pid}.tmp`, file);
      return file;
    }),
  );
}

async function download(f: PinnedFile): Promise<Buffer> {
  let body: Buffer;
  try {
    const res = await fetch(f.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    body = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw new PromfleetError(
      `cannot download ${f.url}: ${(e as Error).message}\nfix: pass --crds DIR with the kapp-controller and Flux CRDs`,
      ExitCode.remoteFailed,
    );
  }
  const got = sha256(body);
  if (got !== f.sha256)
    throw new PromfleetError(
      `${f.url}: sha256 ${got} does not match the pinned ${f.sha256}; nothing was cached\n` +
        `fix: check the download (proxy, truncated file); if upstream replaced the asset, review and update the pin`,
      ExitCode.remoteFailed,
    );
  return body;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
