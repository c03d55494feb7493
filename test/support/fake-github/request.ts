/** Reading and normalising incoming HTTP requests; writing JSON responses. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { safeDecode } from "./openapi.js";
import type { RouteResult } from "./types.js";

export interface ParsedRequest {
  method: string;
  /** pathname as sent (percent-encoded), GHES /api/v3 prefix removed */
  rawPath: string;
  /** pathname with each segment decoded */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  hasBody: boolean;
  jsonError?: string;
}

async function readRaw(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [
      k.toLowerCase(),
      Array.isArray(v) ? v.join(", ") : (v ?? ""),
    ]),
  );
}

function parseJson(raw: string): Pick<ParsedRequest, "body" | "hasBody" | "jsonError"> {
  if (raw.trim() === "") return { body: undefined, hasBody: false };
  try {
    return { body: JSON.parse(raw) as unknown, hasBody: true };
  } catch (e) {
    return { body: raw, hasBody: true, jsonError: (e as Error).message };
  }
}

export async function parseRequest(req: IncomingMessage): Promise<ParsedRequest> {
  const url = new URL(req.url ?? "/", "http://fake.invalid");
  const rawPath = url.pathname.replace(/^\/api\/v3(?=\/)/, "");
  return {
    method: (req.method ?? "GET").toUpperCase(),
    rawPath,
    path: rawPath.split("/").map(safeDecode).join("/"),
    query: Object.fromEntries(url.searchParams),
    headers: headerRecord(req),
    ...parseJson(await readRaw(req)),
  };
}

export function sendResult(res: ServerResponse, result: RouteResult, common: Record<string, string>): void {
  const noBody = result.status === 204 || result.status === 304 || result.body === undefined;
  const payload = noBody ? "" : JSON.stringify(result.body);
  const headers: Record<string, string> = { ...common, ...result.headers };
  if (noBody) delete headers["content-type"];
  else headers["content-length"] = String(Buffer.byteLength(payload));
  res.writeHead(result.status, headers);
  res.end(payload);
}
