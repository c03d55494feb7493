/**
 * A local fake of the GitHub REST API for promfleet's tests.
 * Every request is validated against GitHub's published OpenAPI description; repository state
 * lives in a real bare git repository; failures can be injected per request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeEnv } from "./context.js";
import { GitStore } from "./git-store.js";
import * as helpers from "./helpers.js";
import { InjectionQueue } from "./injections.js";
import { Mutex } from "./mutex.js";
import { routes } from "./openapi.js";
import { seedRepository } from "./seed.js";
import { startServer, type ServerConfig } from "./server.js";
import { FakeState, now } from "./state.js";
import type { FakeGitHub, FakeGitHubOptions } from "./types.js";

export type {
  FakeGitHub,
  FakeGitHubOptions,
  RecordedRequest,
  Injection,
  FakePull,
  FakeDeployment,
} from "./types.js";
export { failures } from "./injections.js";

async function createEnv(o: FakeGitHubOptions, bareRepo: string): Promise<FakeEnv> {
  const defaultBranch = o.defaultBranch ?? "main";
  const store = await GitStore.init(bareRepo, defaultBranch);
  const user = { name: o.owner, email: `${o.owner}@users.noreply.github.com` };
  await seedRepository(store, defaultBranch, o.seedDir, o.repo, { ...user, date: new Date().toISOString() });
  const site = {
    api: "",
    html: "https://github.com",
    owner: o.owner,
    repo: o.repo,
    login: o.owner,
    actor: o.actor ?? o.owner,
    defaultBranch,
    createdAt: now(),
  };
  return { store, state: new FakeState(), site, user };
}

export async function startFakeGitHub(o: FakeGitHubOptions): Promise<FakeGitHub> {
  routes(); // load and index the OpenAPI description up front (cached per process)
  const dir = await mkdtemp(join(tmpdir(), "fake-github-"));
  const bareRepo = join(dir, `${o.repo}.git`);
  const env = await createEnv(o, bareRepo);
  const mutex = new Mutex();
  const cfg: ServerConfig = {
    env,
    token: o.token,
    scopes: o.scopes ?? ["repo"],
    requests: [],
    validationErrors: [],
    responseWarnings: [],
    injections: new InjectionQueue(),
    mutex,
  };
  const { server, url } = await startServer(cfg);
  env.site.api = url;
  return {
    url,
    bareRepo,
    requests: cfg.requests,
    validationErrors: cfg.validationErrors,
    responseWarnings: cfg.responseWarnings,
    inject: (i) => cfg.injections.add(i),
    pulls: () => helpers.listPulls(env),
    comments: (n) => helpers.listComments(env, n),
    plantComment: (n, body, author) => helpers.plantComment(env, n, body, author),
    deployments: () => helpers.listDeployments(env),
    mergePull: (n) => mutex.run(() => helpers.mergePull(env, n)),
    commitToBranch: (b, files, msg) => mutex.run(() => helpers.commitToBranch(env, b, files, msg)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      env.store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
