/** HTTP pipeline: record -> validate -> inject -> authenticate -> dispatch -> respond. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeEnv } from "./context.js";
import { errorBody, HttpError } from "./errors.js";
import { injectedResult, type InjectionQueue } from "./injections.js";
import type { Mutex } from "./mutex.js";
import { matchOperation, type OperationMatch } from "./openapi.js";
import { parseRequest, sendResult, type ParsedRequest } from "./request.js";
import { CODELOAD_PREFIX, serveArchive } from "./routes/archive.js";
import { handlers } from "./routes/index.js";
import type { RecordedRequest, RouteResult } from "./types.js";
import { validateRequest, validateResponse } from "./validator.js";

export interface ServerConfig {
  env: FakeEnv;
  token: string;
  scopes: string[];
  requests: RecordedRequest[];
  validationErrors: string[];
  responseWarnings: string[];
  injections: InjectionQueue;
  mutex: Mutex;
}

class RateLimit {
  private used = 0;
  private readonly reset = Math.floor(Date.now() / 1000) + 3600;

  headers(count: boolean): Record<string, string> {
    if (count) this.used++;
    return {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(5000 - this.used),
      "x-ratelimit-reset": String(this.reset),
      "x-ratelimit-used": String(this.used),
      "x-ratelimit-resource": "core",
    };
  }
}

function authorized(cfg: ServerConfig, p: ParsedRequest): boolean {
  const m = /^(?:token|bearer)\s+(.+)$/i.exec(p.headers.authorization ?? "");
  return m?.[1]?.trim() === cfg.token;
}

function problemsOf(p: ParsedRequest, match: OperationMatch | undefined): string[] {
  if (!match) return [`no operation in GitHub's OpenAPI description matches ${p.method} ${p.rawPath}`];
  if (p.jsonError) return [`body is not valid JSON: ${p.jsonError}`];
  return validateRequest(match.operation, {
    params: match.params,
    query: p.query,
    body: p.body,
    hasBody: p.hasBody,
  });
}

function wrongRepo(cfg: ServerConfig, params: Record<string, string>): boolean {
  const { owner, repo } = cfg.env.site;
  if (params.owner !== undefined && params.owner.toLowerCase() !== owner.toLowerCase()) return true;
  return params.repo !== undefined && params.repo.toLowerCase() !== repo.toLowerCase();
}

async function dispatch(
  cfg: ServerConfig,
  p: ParsedRequest,
  match: OperationMatch,
  rate: Record<string, string>,
) {
  const handler = handlers[match.operation.operationId];
  if (!handler) {
    cfg.validationErrors.push(
      `${p.method} ${p.path}: fake-github does not implement ${match.operation.operationId}`,
    );
    return {
      status: 501,
      body: errorBody(501, `fake-github does not implement ${match.operation.operationId}`),
    };
  }
  const ctx = { env: cfg.env, params: match.params, query: p.query, body: p.body, rateLimit: rate };
  try {
    return await cfg.mutex.run(() => handler(ctx));
  } catch (e) {
    if (e instanceof HttpError) return e.toResult();
    console.error(`fake-github: ${match.operation.operationId} crashed`, e);
    return { status: 500, body: errorBody(500, `fake-github internal error: ${(e as Error).message}`) };
  }
}

async function respond(
  cfg: ServerConfig,
  p: ParsedRequest,
  match: OperationMatch | undefined,
  problems: string[],
  rate: Record<string, string>,
): Promise<RouteResult> {
  if (!authorized(cfg, p)) return { status: 401, body: errorBody(401, "Bad credentials") };
  if (!match) return { status: 404, body: errorBody(404, "Not Found") };
  if (p.jsonError) return { status: 400, body: errorBody(400, "Problems parsing JSON") };
  if (problems.length > 0) {
    const docs = match.operation.externalDocs?.url;
    return {
      status: 422,
      body: {
        ...errorBody(422, `Invalid request.\n\n${problems.join("\n")}`),
        ...(docs ? { documentation_url: docs } : {}),
      },
    };
  }
  if (wrongRepo(cfg, match.params)) return { status: 404, body: errorBody(404, "Not Found") };
  return dispatch(cfg, p, match, rate);
}

function commonHeaders(cfg: ServerConfig, rate: Record<string, string>): Record<string, string> {
  return {
    "content-type": "application/json; charset=utf-8",
    "x-github-media-type": "github.v3; format=json",
    "x-github-api-version-selected": "2022-11-28",
    "x-github-request-id": `FAKE:${cfg.requests.length}`,
    "x-oauth-scopes": cfg.scopes.join(", "),
    "x-accepted-oauth-scopes": "repo",
    ...rate,
  };
}

function checkResponse(
  cfg: ServerConfig,
  p: ParsedRequest,
  match: OperationMatch | undefined,
  result: RouteResult,
) {
  if (!match || result.status >= 300 || result.body === undefined) return;
  for (const w of validateResponse(match.operation, result.status, result.body)) {
    cfg.responseWarnings.push(`${p.method} ${p.path} (${match.operation.operationId}): ${w}`);
  }
}

async function handle(cfg: ServerConfig, rateLimit: RateLimit, req: IncomingMessage, res: ServerResponse) {
  const p = await parseRequest(req);
  if (p.path.startsWith(CODELOAD_PREFIX)) return serveArchive(cfg.env, p.path, res);
  const match = matchOperation(p.method, p.rawPath);
  const operationId = match?.operation.operationId;
  const record: RecordedRequest = {
    method: p.method,
    path: p.path,
    query: p.query,
    body: p.body,
    status: 0,
    operationId,
    headers: p.headers,
    url: req.url ?? "",
  };
  cfg.requests.push(record);
  const problems = problemsOf(p, match);
  problems.forEach((e) =>
    cfg.validationErrors.push(`${p.method} ${p.path}${operationId ? ` (${operationId})` : ""}: ${e}`),
  );
  const injection = cfg.injections.take(p.method, p.path, match?.template);
  if (injection?.networkError) return void req.socket.destroy();
  const rate = rateLimit.headers(authorized(cfg, p));
  const result = injection ? injectedResult(injection) : await respond(cfg, p, match, problems, rate);
  record.status = result.status;
  sendResult(res, result, commonHeaders(cfg, rate));
  // after sending: the client need not wait for it, and it still completes before this process
  // handles anything else, so a test reading responseWarnings afterwards sees it
  checkResponse(cfg, p, injection ? undefined : match, result);
}

export async function startServer(cfg: ServerConfig): Promise<{ server: Server; url: string }> {
  const rateLimit = new RateLimit();
  const server = createServer((req, res) => {
    handle(cfg, rateLimit, req, res).catch((e: unknown) => {
      console.error("fake-github: request failed", e);
      if (!res.headersSent) sendResult(res, { status: 500, body: errorBody(500, String(e)) }, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}
