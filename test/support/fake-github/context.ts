/** Shared handler context types. */
import type { GitStore, Identity } from "./git-store.js";
import type { Site } from "./payloads/site.js";
import type { FakeState } from "./state.js";
import type { RouteResult } from "./types.js";

export interface FakeEnv {
  store: GitStore;
  state: FakeState;
  site: Site;
  /** identity used for commits made on behalf of the authenticated user */
  user: Identity;
}

export interface RouteContext {
  env: FakeEnv;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  rateLimit: Record<string, string>;
}

export type Handler = (ctx: RouteContext) => Promise<RouteResult>;

export function json(status: number, body: unknown, headers?: Record<string, string>): RouteResult {
  return { status, body, headers };
}

/** the validated JSON body, viewed as a particular shape */
export function bodyOf<T>(ctx: RouteContext): T {
  return (ctx.body ?? {}) as T;
}
