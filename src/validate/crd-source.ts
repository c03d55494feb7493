/**
 * Which CRDs `validate` checks against: the --crds paths, else the pinned releases from the cache,
 * fetched from the Go module proxy and verified against their pins when asked to.
 */
import { existsSync } from "node:fs";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { redactUrl } from "../util/redact.js";
import { sha256Hex } from "../util/sha256.js";
import { cachedCrds, crdCacheDir, crdSchemaCacheDir, storeCrds } from "./crd-cache.js";
import { PINNED_CRDS, type PinnedCrds, type PinnedModule } from "./crd-pins.js";
import { CrdValidator } from "./crd.js";
import { moduleHash } from "./go-module-hash.js";
import { download, goProxy, moduleZipUrl } from "./go-proxy.js";

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
  const schemas = crdSchemaCacheDir(env);
  if (o.crds.length > 0) return { validator: await loadGiven(o.crds, schemas), from: o.crds.join(", ") };
  const dir = crdCacheDir(pins, env);
  const cached = await cachedCrds(pins, dir);
  const paths = cached ?? (o.fetch ? await fetchCrds(pins, dir, env) : undefined);
  return paths && { validator: await CrdValidator.load(paths, schemas), from: dir };
}

async function loadGiven(paths: string[], schemaCache: string): Promise<CrdValidator> {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new PromfleetError(`--crds ${missing.join(", ")}: no such file or folder`, ExitCode.badInput);
  const validator = await CrdValidator.load(paths, schemaCache);
  if (validator.size === 0)
    throw new PromfleetError(
      `--crds ${paths.join(", ")}: no CustomResourceDefinition with a schema in there (.yaml/.yml files)`,
      ExitCode.badInput,
    );
  return validator;
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
  const verified = await Promise.all(pins.modules.map((m) => fetchVerifiedFiles(proxy, m)));
  return storeCrds(dir, verified.flat());
}

async function fetchVerifiedFiles(
  proxy: string,
  m: PinnedModule,
): Promise<{ name: string; data: Uint8Array }[]> {
  const url = moduleZipUrl(proxy, m.module, m.version);
  // imported here: every other validate run would load the zip library for nothing
  const { unzipSync } = await import("fflate");
  const zip = unzipSync(await download(url));
  const got = moduleHash(zip);
  if (got !== m.h1)
    throw new PromfleetError(
      `${redactUrl(url)}: module hash ${got} is not the pinned ${m.h1} of ${m.module}@${m.version}; nothing was cached\n` +
        "fix: check $GOPROXY (a proxy must serve the module unchanged); if the pin is wrong, compare with " +
        `\`go mod download -json ${m.module}@${m.version}\``,
      ExitCode.remoteFailed,
    );
  return m.files.map((f) => ({ name: f.name, data: pinnedFile(zip, m, f) }));
}

function pinnedFile(
  zip: Record<string, Uint8Array>,
  m: PinnedModule,
  f: PinnedModule["files"][number],
): Uint8Array {
  const data = zip[`${m.module}@${m.version}/${f.path}`];
  const got = data && sha256Hex(data);
  if (data && got === f.sha256) return data;
  throw new PromfleetError(
    `${m.module}@${m.version}: ${f.path} is ${got ? `sha256 ${got}, not the pinned ${f.sha256}` : "not in the module"}\n` +
      "fix: the pin in src/validate/crd-pins.ts is inconsistent; record the file's sha256 from the verified module",
    ExitCode.remoteFailed,
  );
}
