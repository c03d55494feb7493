/** git/refs endpoints. */
import { bodyOf, json, type FakeEnv, type Handler } from "../context.js";
import { notFound, unprocessable } from "../errors.js";
import { ZERO_SHA } from "../git-store.js";
import { gitRef } from "../payloads/git.js";
import { repoApi } from "../payloads/site.js";

async function refPayload(env: FakeEnv, fullRef: string, sha: string) {
  return gitRef(env.site, fullRef, sha, await env.store.objectType(sha));
}

/** current sha of "heads/x" style short ref (GitHub wants it without "refs/") */
async function existing(env: FakeEnv, ref: string): Promise<string | undefined> {
  if (ref.startsWith("refs/")) return undefined;
  return env.store.readRef(`refs/${ref}`);
}

async function requireObject(env: FakeEnv, sha: string): Promise<void> {
  if ((await env.store.objectType(sha)) === "missing") throw unprocessable("Object does not exist");
}

const getRef: Handler = async ({ env, params }) => {
  const ref = params.ref ?? "";
  const sha = await existing(env, ref);
  if (!sha) throw notFound();
  return json(200, await refPayload(env, `refs/${ref}`, sha));
};

const listMatchingRefs: Handler = async ({ env, params }) => {
  const refs = await env.store.listRefs(`refs/${params.ref ?? ""}`);
  return json(
    200,
    refs.map((r) => gitRef(env.site, r.ref, r.sha, r.type)),
  );
};

const createRef: Handler = async (ctx) => {
  const { env } = ctx;
  const { ref, sha } = bodyOf<{ ref: string; sha: string }>(ctx);
  if (!/^refs\/[^/]+\/.+/.test(ref) || !(await env.store.checkRefFormat(ref))) {
    throw unprocessable("Reference name must be fully qualified (refs/heads/<branch>) and valid");
  }
  await requireObject(env, sha);
  if (await env.store.readRef(ref)) throw unprocessable("Reference already exists");
  await env.store.updateRef(ref, sha, ZERO_SHA);
  return json(201, await refPayload(env, ref, sha), { location: repoApi(env.site, `/git/${ref}`) });
};

const updateRef: Handler = async (ctx) => {
  const { env, params } = ctx;
  const { sha, force } = bodyOf<{ sha: string; force?: boolean }>(ctx);
  const ref = params.ref ?? "";
  const old = await existing(env, ref);
  if (!old) throw unprocessable("Reference does not exist");
  await requireObject(env, sha);
  if (!force && old !== sha && !(await env.store.isAncestor(old, sha))) {
    throw unprocessable("Update is not a fast forward");
  }
  await env.store.updateRef(`refs/${ref}`, sha, old);
  return json(200, await refPayload(env, `refs/${ref}`, sha));
};

const deleteRef: Handler = async ({ env, params }) => {
  const ref = params.ref ?? "";
  if (!(await existing(env, ref))) throw unprocessable("Reference does not exist");
  await env.store.deleteRef(`refs/${ref}`);
  return { status: 204 };
};

export const refRoutes: Record<string, Handler> = {
  "git/get-ref": getRef,
  "git/list-matching-refs": listMatchingRefs,
  "git/create-ref": createRef,
  "git/update-ref": updateRef,
  "git/delete-ref": deleteRef,
};
