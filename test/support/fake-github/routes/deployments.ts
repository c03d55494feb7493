/** deployments and deployment statuses. */
import { bodyOf, json, type FakeEnv, type Handler, type RouteContext } from "../context.js";
import { notFound, unprocessable } from "../errors.js";
import { deployment, deploymentStatus } from "../payloads/deployments.js";
import { repoApi } from "../payloads/site.js";
import { now, type DeploymentRecord } from "../state.js";
import { paginate } from "./paginate.js";

/** branch, tag or commit sha -> commit sha */
export async function resolveRef(env: FakeEnv, ref: string): Promise<string | undefined> {
  const named =
    (await env.store.readRef(`refs/heads/${ref}`)) ?? (await env.store.readRef(`refs/tags/${ref}`));
  if (named) return env.store.resolve(named);
  return /^[0-9a-f]{7,40}$/.test(ref) ? env.store.resolve(ref) : undefined;
}

interface CreateBody {
  ref: string;
  task?: string;
  payload?: unknown;
  environment?: string;
  description?: string | null;
  transient_environment?: boolean;
  production_environment?: boolean;
}

const createDeployment: Handler = async (ctx) => {
  const { env } = ctx;
  const b = bodyOf<CreateBody>(ctx);
  const sha = await resolveRef(env, b.ref);
  if (!sha) throw unprocessable(`No ref found for: ${b.ref}`);
  const environment = b.environment ?? "production";
  const d: DeploymentRecord = {
    id: env.state.nextId(),
    ref: b.ref,
    sha,
    task: b.task ?? "deploy",
    environment,
    description: b.description ?? null,
    payload: b.payload ?? {},
    transient: b.transient_environment ?? false,
    production: b.production_environment ?? environment === "production",
    createdAt: now(),
    statuses: [],
  };
  env.state.deployments.push(d);
  const payload = deployment(env.site, d);
  return json(201, payload, { location: payload.url });
};

const listDeployments: Handler = async ({ env, query }) => {
  const keys = ["sha", "ref", "task", "environment"] as const;
  const items = env.state.deployments.filter((d) =>
    keys.every((k) => query[k] === undefined || d[k] === query[k]),
  );
  const payloads = [...items].reverse().map((d) => deployment(env.site, d));
  return paginate(payloads, query, repoApi(env.site, "/deployments"));
};

function requireDeployment(ctx: RouteContext): DeploymentRecord {
  const d = ctx.env.state.deployment(Number(ctx.params.deployment_id));
  if (!d) throw notFound();
  return d;
}

const getDeployment: Handler = async (ctx) => json(200, deployment(ctx.env.site, requireDeployment(ctx)));

interface StatusBody {
  state: string;
  target_url?: string;
  log_url?: string;
  description?: string;
  environment?: string;
  environment_url?: string;
  auto_inactive?: boolean;
}

function pushStatus(ctx: RouteContext, d: DeploymentRecord, state: string, b: Partial<StatusBody> = {}) {
  const st = {
    id: ctx.env.state.nextId(),
    state,
    description: b.description ?? "",
    environment: d.environment,
    environmentUrl: b.environment_url ?? "",
    logUrl: b.log_url ?? b.target_url ?? "",
    targetUrl: b.target_url ?? b.log_url ?? "",
    createdAt: now(),
  };
  d.statuses.push(st);
  return st;
}

/** GitHub marks older non-transient, non-production deployments of the environment inactive */
function deactivatePrevious(ctx: RouteContext, d: DeploymentRecord): void {
  for (const other of ctx.env.state.deployments) {
    const stale = other !== d && other.environment === d.environment && !other.transient && !other.production;
    if (stale && other.statuses.at(-1)?.state !== "inactive") pushStatus(ctx, other, "inactive");
  }
}

const createStatus: Handler = async (ctx) => {
  const d = requireDeployment(ctx);
  const b = bodyOf<StatusBody>(ctx);
  if (b.environment) d.environment = b.environment;
  const st = pushStatus(ctx, d, b.state, b);
  if (b.state === "success" && b.auto_inactive !== false) deactivatePrevious(ctx, d);
  const payload = deploymentStatus(ctx.env.site, d, st);
  return json(201, payload, { location: payload.url });
};

const listStatuses: Handler = async (ctx) => {
  const d = requireDeployment(ctx);
  const items = [...d.statuses].reverse().map((st) => deploymentStatus(ctx.env.site, d, st));
  return paginate(items, ctx.query, repoApi(ctx.env.site, `/deployments/${d.id}/statuses`));
};

export const deploymentRoutes: Record<string, Handler> = {
  "repos/create-deployment": createDeployment,
  "repos/list-deployments": listDeployments,
  "repos/get-deployment": getDeployment,
  "repos/create-deployment-status": createStatus,
  "repos/list-deployment-statuses": listStatuses,
};
