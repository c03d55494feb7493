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
import { ExitCode, PromfleetError } from "../util/errors.js";
import { basicAuthorization, redactUrl, splitCredentials, type UrlCredentials } from "../util/redact.js";
import { VerifyError } from "./errors.js";

export interface HttpAuth {
  basic?: UrlCredentials;
  bearerToken?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
  /** Send credentials over plain http:// (readable by anyone on the path); only when asked by name. */
  allowInsecureHttpAuth?: boolean;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType: string;
  body: string;
}

/** Answers larger than this are cut: a Prometheus query result for a fleet is far smaller. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The URL as it may appear in messages: credentials in it are replaced, query strings dropped. */
export function displayUrl(u: URL | string): string {
  return redactUrl(u, { dropQuery: true });
}

/** Removes anything that looks like a credential from text that came back from a server. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join("***");
  return out;
}

/** Every form in which a credential could come back: plain, and as the basic auth header value. */
export function secretsOf(auth: HttpAuth | undefined, url?: URL): string[] {
  const basics = [auth?.basic, url && splitCredentials(url).credentials].filter((c): c is UrlCredentials =>
    Boolean(c?.password),
  );
  return [
    ...basics.flatMap((c) => [c.password, encodeURIComponent(c.password), basicAuthorization(c).slice(6)]),
    ...(auth?.bearerToken ? [auth.bearerToken] : []),
  ].filter(Boolean);
}

/** The Authorization header for the flags or the URL's own user-info; none without credentials. */
function authorization(url: URL, auth: HttpAuth | undefined): string | undefined {
  if (auth?.basic && auth.bearerToken)
    throw new VerifyError("set either basic auth or a bearer token for the aggregator, not both");
  if (auth?.basic) return basicAuthorization(auth.basic);
  if (auth?.bearerToken) return `Bearer ${auth.bearerToken}`;
  const inUrl = splitCredentials(url).credentials;
  return inUrl && basicAuthorization(inUrl);
}

/** Credentials over http:// can be read by anyone between here and the aggregator. */
function refuseCleartextCredentials(url: URL, auth: HttpAuth | undefined): void {
  if (url.protocol !== "http:" || auth?.allowInsecureHttpAuth) return;
  const kind = auth?.bearerToken ? "a bearer token" : "basic auth";
  throw new PromfleetError(
    `${displayUrl(url)}: refusing to send ${kind} over plain http://, where anyone on the network path can read it\n` +
      "fix: use the aggregator's https:// URL (--ca-file for a private CA), or pass --allow-insecure-http-auth " +
      "if this connection cannot be intercepted (e.g. a kubectl port-forward)",
    ExitCode.badInput,
  );
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

const UNTRUSTED_CERT = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

function describeNetworkError(e: NodeJS.ErrnoException): string {
  const code = e.code ?? "";
  if (code === "ECONNREFUSED") return "connection refused (is the aggregator running and the port right?)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `host not found (${e.message})`;
  if (code === "ECONNRESET") return "connection reset by the server";
  if (UNTRUSTED_CERT.has(code))
    return `TLS certificate not trusted (${code}); pass the aggregator's CA file, or skip verification explicitly`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `TLS certificate does not match the host name (${e.message})`;
  if (code === "EPROTO" || /wrong version number/i.test(e.message))
    return `TLS handshake failed; is the URL scheme (http/https) right? (${e.message})`;
  return e.message || code || String(e);
}

/** Request options: where, which headers (credentials only after the cleartext check), which TLS trust. */
function requestOptions(
  url: URL,
  opts: { auth?: HttpAuth; accept?: string; headers?: Record<string, string> },
): https.RequestOptions {
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new VerifyError(`the aggregator URL must be http:// or https://, got ${displayUrl(url)}`);
  const auth = authorization(url, opts.auth);
  if (auth) refuseCleartextCredentials(url, opts.auth);
  const tls: https.RequestOptions =
    url.protocol === "https:"
      ? {
          ...(opts.auth?.caFile ? { ca: readCa(opts.auth.caFile) } : {}),
          ...(opts.auth?.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        }
      : {};
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    method: "GET",
    headers: {
      ...opts.headers,
      accept: opts.accept ?? "application/json",
      "user-agent": "promfleet-verify",
      ...(auth ? { authorization: auth } : {}),
    },
    agent: false,
    ...tls,
  };
}

/** Collects a response body (up to MAX_BODY_BYTES) into an answer. */
function readAnswer(res: http.IncomingMessage, where: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
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
  });
}

/** One GET; network failures and timeouts are VerifyErrors naming the URL without credentials. */
export function httpGet(
  url: URL,
  opts: { auth?: HttpAuth; timeoutMs: number; accept?: string; headers?: Record<string, string> },
): Promise<HttpAnswer> {
  const options = requestOptions(url, opts);
  const where = displayUrl(url);
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).request(options, (res) =>
      readAnswer(res, where).then(resolve, reject),
    );
    req.setTimeout(opts.timeoutMs, () => {
      const seconds = Math.round(opts.timeoutMs / 100) / 10;
      req.destroy(Object.assign(new Error(`no answer within ${seconds}s`), { code: "ETIMEDOUT" }));
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      reject(new VerifyError(`cannot reach the aggregator at ${where}: ${describeNetworkError(e)}`)),
    );
    req.end();
  });
}
