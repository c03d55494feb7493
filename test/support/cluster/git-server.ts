/**
 * A read-only git server over https on loopback: `git http-backend` (smart HTTP) behind a tiny CGI
 * bridge, with a serving certificate from the test CA. kapp-controller (vendir → git) and Flux
 * (source-controller) are told to trust that CA the way a cluster would be (see README), so the fleet
 * spec's https-only git URL needs no exception. Repositories are the folders (or symlinks) in `root`.
 */
import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { CertPair } from "./certs.js";
import { readFile } from "node:fs/promises";

export interface GitServer {
  /** https://127.0.0.1:<port> — a repository `name.git` in root is at `${url}/name.git`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

function cgiEnv(req: IncomingMessage, root: string) {
  const url = new URL(req.url ?? "/", "https://127.0.0.1");
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
    GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    REMOTE_ADDR: "127.0.0.1",
  };
}

/** Splits the CGI response into its header block and body, and sends them as the HTTP response. */
function relayCgi(out: Buffer, res: ServerResponse): void {
  const split = out.indexOf("\r\n\r\n");
  const sep = split >= 0 ? 4 : 2;
  const end = split >= 0 ? split : out.indexOf("\n\n");
  const head = out.subarray(0, Math.max(end, 0)).toString("utf8");
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
    if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
    else headers[k] = v;
  }
  res.writeHead(status, headers);
  res.end(end >= 0 ? out.subarray(end + sep) : out);
}

export async function startGitServer(root: string, serving: CertPair): Promise<GitServer> {
  const [cert, key] = await Promise.all([readFile(serving.cert), readFile(serving.key)]);
  const server = https.createServer({ cert, key }, (req, res) => {
    const cgi = spawn("git", ["http-backend"], {
      env: cgiEnv(req, root),
      stdio: ["pipe", "pipe", "inherit"],
    });
    const chunks: Buffer[] = [];
    cgi.stdout.on("data", (c: Buffer) => chunks.push(c));
    cgi.on("close", () => relayCgi(Buffer.concat(chunks), res));
    cgi.on("error", () => {
      res.writeHead(500);
      res.end();
    });
    req.pipe(cgi.stdin);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
