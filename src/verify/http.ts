/**
 * A minimal GET client for the aggregator's HTTP API.
 *
 * Built on node:http / node:https rather than the global fetch: Node 20's fetch has no public
 * way to trust an extra CA file or to skip TLS verification for one request, and both are
 * needed for aggregators behind an ingress with a private CA. One code path for all cases.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { VerifyError } from "./errors.js";

export interface HttpAuth {
  basic?: { username: string; password: string };
  bearerToken?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType: string;
  body: string;
}

/** The URL as it may appear in messages: credentials in it are replaced, query strings dropped. */
export function displayUrl(u: URL | string): string {
  let url: URL;
  try {
    url = new URL(String(u));
  } catch {
    return "<invalid URL>";
  }
  if (url.username || url.password) {
    url.username = "***";
    url.password = "";
  }
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** Removes anything that looks like a credential from text that came back from a server. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}

/** Every form in which a credential could come back: plain, and as the basic auth header value. */
export function secretsOf(auth: HttpAuth | undefined, url?: URL): string[] {
  const s: string[] = [];
  const basic = (user: string, password: string) => {
    s.push(password);
    s.push(Buffer.from(`${user}:${password}`).toString("base64"));
  };
  if (auth?.basic) basic(auth.basic.username, auth.basic.password);
  if (auth?.bearerToken) s.push(auth.bearerToken);
  if (url?.password) {
    basic(decodeURIComponent(url.username), decodeURIComponent(url.password));
    s.push(url.password);
  }
  return s.filter(Boolean);
}

function authHeaders(auth: HttpAuth | undefined): Record<string, string> {
  if (auth?.basic && auth.bearerToken)
    throw new VerifyError("set either basic auth or a bearer token for the aggregator, not both");
  if (auth?.basic) {
    const raw = `${auth.basic.username}:${auth.basic.password}`;
    return { authorization: `Basic ${Buffer.from(raw).toString("base64")}` };
  }
  if (auth?.bearerToken) return { authorization: `Bearer ${auth.bearerToken}` };
  return {};
}

const caCache = new Map<string, Buffer>();
function readCa(file: string): Buffer {
  const hit = caCache.get(file);
  if (hit) return hit;
  try {
    const b = readFileSync(file);
    caCache.set(file, b);
    return b;
  } catch (e) {
    throw new VerifyError(`cannot read the CA file ${file}: ${(e as Error).message}`);
  }
}

function describeNetworkError(e: NodeJS.ErrnoException): string {
  const code = e.code ?? "";
  if (code === "ECONNREFUSED") return "connection refused (is the aggregator running and the port right?)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `host not found (${e.message})`;
  if (code === "ECONNRESET") return "connection reset by the server";
  if (
    code === "DEPTH_ZERO_SELF_SIGNED_CERT" ||
    code === "SELF_SIGNED_CERT_IN_CHAIN" ||
    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE" ||
    code === "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
  )
    return `TLS certificate not trusted (${code}); pass the aggregator's CA file, or skip verification explicitly`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `TLS certificate does not match the host name (${e.message})`;
  if (code === "EPROTO" || /wrong version number/i.test(e.message))
    return `TLS handshake failed; is the URL scheme (http/https) right? (${e.message})`;
  return e.message || code || String(e);
}

export async function httpGet(
  url: URL,
  opts: { auth?: HttpAuth; timeoutMs: number; accept?: string },
): Promise<HttpAnswer> {
  const isHttps = url.protocol === "https:";
  if (!isHttps && url.protocol !== "http:")
    throw new VerifyError(`the aggregator URL must be http:// or https://, got ${displayUrl(url)}`);
  const headers: Record<string, string> = {
    accept: opts.accept ?? "application/json",
    "user-agent": "promfleet-verify",
    ...authHeaders(opts.auth),
  };
  // Credentials in the URL itself (https://user:pass@host) become a basic auth header.
  if (url.username && !headers.authorization) {
    const raw = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(raw).toString("base64")}`;
  }
  const tls: https.RequestOptions = {};
  if (isHttps) {
    if (opts.auth?.caFile) tls.ca = readCa(opts.auth.caFile);
    if (opts.auth?.insecureSkipTlsVerify) tls.rejectUnauthorized = false;
  }
  const where = displayUrl(url);
  return await new Promise<HttpAnswer>((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers,
        agent: false,
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size <= 32 * 1024 * 1024) chunks.push(c);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            contentType: String(res.headers["content-type"] ?? ""),
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", (e) =>
          reject(new VerifyError(`reading the answer from ${where} failed: ${describeNetworkError(e)}`)),
        );
      },
    );
    req.setTimeout(opts.timeoutMs, () => {
      req.destroy(
        Object.assign(new Error(`no answer within ${Math.round(opts.timeoutMs / 100) / 10}s`), {
          code: "ETIMEDOUT",
        }),
      );
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      reject(new VerifyError(`cannot reach the aggregator at ${where}: ${describeNetworkError(e)}`)),
    );
    req.end();
  });
}
