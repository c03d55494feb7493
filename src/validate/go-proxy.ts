/**
 * A client for the Go module proxy protocol (GOPROXY): where to ask, how module paths are spelled, and
 * downloading a module zip (credentials in the proxy URL are sent as basic auth and never printed).
 */
import { basicAuthorization, redactUrl, splitCredentials } from "../util/redact.js";
import { ExitCode, PromfleetError } from "../util/errors.js";

const DEFAULT_GOPROXY = "https://proxy.golang.org";
const FETCH_TIMEOUT_MS = 120_000;

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

/** The URL of a module version's zip on a proxy. */
export function moduleZipUrl(proxy: string, module: string, version: string): string {
  return `${proxy}/${escapeModulePath(module)}/@v/${version}.zip`;
}

/** GETs a file from the proxy; any failure is exit 4 with the URL shown without credentials. */
export async function download(url: string): Promise<Uint8Array> {
  try {
    const { url: plain, credentials } = splitCredentials(new URL(url));
    const headers: Record<string, string> = credentials
      ? { authorization: basicAuthorization(credentials) }
      : {};
    const res = await fetch(plain, { headers, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new PromfleetError(
      `cannot download ${redactUrl(url)}: ${(e as Error).message}\n` +
        "fix: check the network or $GOPROXY, or pass --crds DIR with the kapp-controller and Flux CRDs",
      ExitCode.remoteFailed,
    );
  }
}
