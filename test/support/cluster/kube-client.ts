/** A minimal Kubernetes API client (https with the admin client cert): what the kubelet stand-in needs. */
import { readFileSync } from "node:fs";
import https from "node:https";
import type { ControlPlane } from "./control-plane.js";
import type { Pki } from "./certs.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

export class KubeClient {
  private readonly agent: https.Agent;
  constructor(
    private readonly plane: ControlPlane,
    pki: Pki,
  ) {
    this.agent = new https.Agent({
      ca: pki.caPem,
      cert: readFileSync(plane.admin.cert),
      key: readFileSync(plane.admin.key),
      keepAlive: true,
    });
  }

  request(
    method: string,
    apiPath: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.plane.server}${apiPath}`,
        { method, agent: this.agent, timeout: 10_000, headers: body ? { "content-type": contentType } : {} },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => {
            const parsed: unknown = text.startsWith("{") ? JSON.parse(text) : text;
            if ((res.statusCode ?? 500) < 300) resolve(parsed);
            else
              reject(
                Object.assign(new Error(`${method} ${apiPath}: ${res.statusCode} ${text}`), {
                  status: res.statusCode,
                }),
              );
          });
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async list(apiPath: string): Promise<KubeObject[]> {
    return ((await this.request("GET", apiPath)) as { items: KubeObject[] }).items;
  }

  async get(apiPath: string): Promise<KubeObject | undefined> {
    try {
      return (await this.request("GET", apiPath)) as KubeObject;
    } catch (e) {
      if ((e as { status?: number }).status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Calls `onChange` for every event of a watch on `apiPath` (a list path), re-opened if the server ends
   * it, until the returned function is called. The events themselves are not read: a change is the signal.
   */
  watch(apiPath: string, onChange: () => void): () => void {
    let stopped = false;
    let current: ReturnType<typeof https.request> | undefined;
    const open = () => {
      if (stopped) return;
      const reopen = () => {
        if (!stopped) setTimeout(open, 500);
      };
      current = https.request(`${this.plane.server}${apiPath}?watch=1`, { agent: this.agent }, (res) => {
        res.on("data", onChange);
        res.on("end", reopen);
        res.on("error", () => undefined);
      });
      current.on("error", reopen);
      current.end();
    };
    open();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  mergePatch(apiPath: string, patch: unknown): Promise<unknown> {
    return this.request("PATCH", apiPath, patch, "application/merge-patch+json");
  }

  close(): void {
    this.agent.destroy();
  }
}
