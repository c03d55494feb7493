import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { unzipSync } from "fflate";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { CrdValidator } from "./crd.js";

/** One CRD file inside a Go module, and the sha256 of its bytes. */
export interface PinnedFile {
  /** Path inside the module, e.g. config/crd/bases/x.yaml. */
  path: string;
  /** File name in the cache folder. */
  name: string;
  sha256: string;
}

/**
 * A tagged release of a controller, fetched as its Go module zip. `h1` is the module's go.sum hash
 * (`go mod download -json <module>@<version>` prints it; sum.golang.org publishes it): it covers every
 * file in the zip, so the CRDs are exactly the ones in the tagged source.
 */
export interface PinnedModule {
  module: string;
  version: string;
  h1: string;
  files: PinnedFile[];
}

export interface PinnedCrds {
  /** Names the cache folder: $XDG_CACHE_HOME/promfleet/crds/<version>/. */
  version: string;
  modules: PinnedModule[];
}

/**
 * The CRDs `validate --fetch-crds` downloads: kapp-controller v0.53.1 (App, PackageInstall) and the Flux
 * controllers v1.9.6 (GitRepository, Kustomization v1 with healthCheckExprs). The Flux h1 values are the
 * ones sum.golang.org publishes; kapp-controller's module is not in the checksum database reachable from
 * where this was written, so its h1 was computed by `go mod download` from proxy.golang.org's zip.
 * To bump: run `go mod download -json <module>@<version>` and take "Sum", then `sha256sum` each file.
 */
export const PINNED_CRDS: PinnedCrds = {
  version: "kapp-controller-v0.53.1+flux-controllers-v1.9.6",
  modules: [
    {
      module: "carvel.dev/kapp-controller",
      version: "v0.53.1",
      h1: "h1:svq5EL3ZagHGjirqn/fPCH5bVB+ZrO7N72YZ/5i4kJc=",
      files: [
        {
          path: "config/config/crds.yml",
          name: "kapp-controller-crds.yml",
          sha256: "56b0c240148ad8f283aed3d32ae6d578e49c9123af2b59dd2b0640248a6051a3",
        },
      ],
    },
    {
      module: "github.com/fluxcd/source-controller",
      version: "v1.9.6",
      h1: "h1:nG534/bI6nVpyHra7ONAk6xDB3xPsVT+EOLHZHXPrrc=",
      files: [
        {
          path: "config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml",
          name: "flux-gitrepositories.yaml",
          sha256: "bd0c08183287b2eea0d885751fc686bc4b2b583e919de6bd57859170b8d1727f",
        },
      ],
    },
    {
      module: "github.com/fluxcd/kustomize-controller",
      version: "v1.9.6",
      h1: "h1:XB+G3A0mky0j5uVHZWv4oSlS2RvZBoNIUhstIvY0JKE=",
      files: [
        {
          path: "config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
          name: "flux-kustomizations.yaml",
          sha256: "da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974",
        },
      ],
    },
  ],
};

const DEFAULT_GOPROXY = "https://proxy.golang.org";
const FETCH_TIMEOUT_MS = 120_000;

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
 * The CRDs to validate against: the --crds paths when given; else the pinned releases from the cache,
 * downloaded into it first when `fetch` is set and it is incomplete; else undefined.
 */
export async function resolveCrds(
  o: { crds: string[]; fetch?: boolean },
  pins: PinnedCrds = PINNED_CRDS,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CrdSource | undefined> {
  if (o.crds.length > 0) return { validator: await loadGiven(o.crds), from: o.crds.join(", ") };
  const dir = crdCacheDir(pins, env);
  const cached = await cachedCrds(pins, dir);
  const paths = cached ?? (o.fetch ? await fetchCrds(pins, dir, env) : undefined);
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

const pinnedFiles = (pins: PinnedCrds) => pins.modules.flatMap((m) => m.files);

/**
 * The cached files when every one is there with its pinned checksum; undefined when the cache is
 * empty or incomplete. A file whose checksum differs is an error: the cache was altered.
 */
export async function cachedCrds(pins: PinnedCrds, dir: string): Promise<string[] | undefined> {
  const files = pinnedFiles(pins);
  const paths = files.map((f) => path.join(dir, f.name));
  if (!paths.every((p) => existsSync(p))) return undefined;
  for (const [i, f] of files.entries()) {
    const got = sha256(await readFile(paths[i] as string));
    if (got !== f.sha256)
      throw new PromfleetError(
        `${paths[i]}: sha256 ${got} is not the pinned ${f.sha256}\n` +
          `fix: delete ${dir} and run promfleet validate --fetch-crds, or pass --crds DIR`,
        ExitCode.badInput,
      );
  }
  return paths;
}

/**
 * Downloads every pinned module zip from the Go module proxy ($GOPROXY's first URL, else
 * proxy.golang.org), checks its h1 hash and each CRD file's sha256, then stores the CRD files in `dir`.
 * Nothing is stored unless every module verified.
 */
export async function fetchCrds(
  pins: PinnedCrds,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const proxy = goProxy(env);
  const extracted = await Promise.all(pins.modules.map((m) => fetchModuleFiles(proxy, m)));
  return Promise.all(
    extracted.flat().map(async ({ name, data }) => {
      const file = path.join(dir, name);
      await writeFileAtomic(file, data);
      return file;
    }),
  );
}

async function fetchModuleFiles(
  proxy: string,
  m: PinnedModule,
): Promise<{ name: string; data: Uint8Array }[]> {
  const url = `${proxy}/${escapeModulePath(m.module)}/@v/${m.version}.zip`;
  const zip = unzipSync(await download(url));
  const got = moduleHash(zip);
  if (got !== m.h1)
    throw new PromfleetError(
      `${redact(url)}: module hash ${got} is not the pinned ${m.h1} of ${m.module}@${m.version}; nothing was cached\n` +
        "fix: check $GOPROXY (a proxy must serve the module unchanged); if the pin is wrong, compare with " +
        `\`go mod download -json ${m.module}@${m.version}\``,
      ExitCode.remoteFailed,
    );
  return m.files.map((f) => {
    const data = zip[`${m.module}@${m.version}/${f.path}`];
    const got = data && sha256(data);
    if (!data || got !== f.sha256)
      throw new PromfleetError(
        `${m.module}@${m.version}: ${f.path} is ${got ? `sha256 ${got}, not the pinned ${f.sha256}` : "not in the module"}\n` +
          "fix: the pin in src/validate/crd-source.ts is inconsistent; record the file's sha256 from the verified module",
        ExitCode.remoteFailed,
      );
    return { name: f.name, data };
  });
}

/**
 * Go's dirhash.Hash1 of a module zip: sha256 over the sorted lines "<sha256 hex>  <file name>\n",
 * base64, prefixed "h1:" (golang.org/x/mod/sumdb/dirhash).
 */
export function moduleHash(files: Record<string, Uint8Array>): string {
  const names = Object.keys(files)
    .filter((name) => !name.endsWith("/"))
    .sort();
  const summary = names.map((name) => `${sha256(files[name] as Uint8Array)}  ${name}\n`).join("");
  return `h1:${createHash("sha256").update(summary).digest("base64")}`;
}

/** The first URL in $GOPROXY (entries separated by "," or "|"), as the go command would try first. */
export function goProxy(env: NodeJS.ProcessEnv): string {
  const entries = (env.GOPROXY || DEFAULT_GOPROXY).split(/[,|]/).map((e) => e.trim());
  const first = entries.find((e) => e !== "");
  if (first === "off" || first === undefined)
    throw new PromfleetError(
      "GOPROXY=off: --fetch-crds downloads the CRDs from a Go module proxy\n" +
        "fix: set GOPROXY to a proxy URL, or pass --crds DIR",
      ExitCode.badInput,
    );
  if (first === "direct")
    throw new PromfleetError(
      "GOPROXY starts with direct: --fetch-crds needs a Go module proxy, it does not clone repositories\n" +
        `fix: put a proxy first (e.g. GOPROXY=${DEFAULT_GOPROXY},direct), or pass --crds DIR`,
      ExitCode.badInput,
    );
  return first.replace(/\/+$/, "");
}

/** Module path case-encoding of the proxy protocol: each upper-case letter becomes "!" + lower case. */
export function escapeModulePath(module: string): string {
  return module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

async function download(url: string): Promise<Uint8Array> {
  try {
    const [plain, init] = withoutCredentials(url);
    const res = await fetch(plain, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new PromfleetError(
      `cannot download ${redact(url)}: ${(e as Error).message}\n` +
        "fix: check the network or $GOPROXY, or pass --crds DIR with the kapp-controller and Flux CRDs",
      ExitCode.remoteFailed,
    );
  }
}

/** fetch() refuses URLs with user:password; send them as basic auth, as the go command does. */
function withoutCredentials(url: string): [string, { headers: Record<string, string> }] {
  const u = new URL(url);
  if (!u.username && !u.password) return [url, { headers: {} }];
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`);
  u.username = "";
  u.password = "";
  return [u.toString(), { headers: { authorization: `Basic ${basic.toString("base64")}` } }];
}

/** A GOPROXY URL may carry credentials (https://user:token@proxy): never print them. */
function redact(url: string): string {
  return url.replace(/^(\w+:\/\/)[^/@]*@/, "$1***@");
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
