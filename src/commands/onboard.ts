import { parse } from "yaml";
import { addCluster, hasCluster, parseSetFlags } from "../fleet/edit.js";
import { parseFleet } from "../fleet/load.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import {
  credentialFiles,
  credentialNextSteps,
  credentialsPath,
  newCredential,
  type CredentialFiles,
} from "../secrets/credentials.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { ChangeContext, ClusterChange, DecideChange } from "./cluster-change.js";

export interface OnboardOptions {
  name: string;
  role: "agent";
  overlays: string[];
  sets: string[];
}

/** Adds an agent to the fleet spec, with a credential of its own when the fleet authenticates writes. */
export function decideOnboard(o: OnboardOptions): DecideChange {
  const values = parseSetFlags(o.sets);
  return async (ctx: ChangeContext): Promise<ClusterChange> => {
    const change: ClusterChange = {
      cluster: o.name,
      kind: "onboard",
      labels: ["promfleet", "onboard"],
      template: {},
    };
    if (hasCluster(ctx.doc, o.name))
      return {
        ...change,
        nothingToDo: `cluster ${o.name} is already in the fleet (${ctx.file}); nothing to do`,
      };
    const { passwordHash, credentials } = await credentialFor(ctx, o.name);
    addCluster(ctx.doc, { name: o.name, role: o.role, overlays: o.overlays, values, passwordHash });
    const spec = await parseFleetOrExplain(ctx, o.name);
    const cluster = spec.clusters.find((c) => c.name === o.name) as ClusterSpec;
    return {
      ...change,
      credentials: credentials && (await credentials(spec, cluster)),
      template: { role: o.role, bootstrap: bootstrapCommand(spec, cluster) },
    };
  };
}

type MakeCredentialFiles = (spec: FleetSpec, cluster: ClusterSpec) => Promise<CredentialFiles>;

/**
 * A rerun of the same onboarding keeps the credential of the open pull request (its hash, and its
 * encrypted file), so re-running never rotates a password behind a person's back.
 */
async function credentialFor(
  ctx: ChangeContext,
  name: string,
): Promise<{ passwordHash?: string; credentials?: MakeCredentialFiles }> {
  if (ctx.before.remoteWrite.auth !== "basic") return {};
  const previous = ctx.open && ctx.gh ? await previousCredential(ctx, name) : undefined;
  if (previous)
    return {
      passwordHash: previous.hash,
      credentials: async (spec, cluster) => ({
        repo: new Map(previous.encrypted ? [[credentialsPath(name), previous.encrypted]] : []),
        local: new Map(),
        nextSteps: credentialNextSteps(spec, cluster),
      }),
    };
  const credential = newCredential();
  return {
    passwordHash: credential.passwordHash,
    credentials: (spec, cluster) => credentialFiles(spec, cluster, credential.password),
  };
}

/** The hash (and the encrypted credential, if any) on the open pull request's branch. */
async function previousCredential(
  ctx: ChangeContext,
  name: string,
): Promise<{ hash: string; encrypted?: string } | undefined> {
  const spec = await readAtPullHead(ctx, ctx.file);
  const clusters =
    (
      parse(spec ?? "") as {
        clusters?: Array<{ name: string; credential?: { passwordHash: string } }>;
      } | null
    )?.clusters ?? [];
  const hash = clusters.find((c) => c.name === name)?.credential?.passwordHash;
  if (!hash) return undefined;
  const encrypted =
    ctx.before.secrets.provider === "sops" ? await readAtPullHead(ctx, credentialsPath(name)) : undefined;
  return { hash, encrypted };
}

async function readAtPullHead(ctx: ChangeContext, file: string): Promise<string | undefined> {
  const gh = ctx.gh as NonNullable<ChangeContext["gh"]>;
  const ref = (ctx.open as NonNullable<ChangeContext["open"]>).headSha;
  const { data } = await gh.step(`reading ${file} on the open pull request`, () =>
    gh.octokit.rest.repos.getContent({ owner: gh.owner, repo: gh.repo, path: file, ref }),
  );
  const content = (data as { content?: string }).content;
  return content === undefined ? undefined : Buffer.from(content, "base64").toString("utf8");
}

async function parseFleetOrExplain(ctx: ChangeContext, name: string): Promise<FleetSpec> {
  try {
    return await parseFleet(ctx.doc.toString(), ctx.root, ctx.file);
  } catch (e) {
    if (e instanceof PromfleetError)
      throw new PromfleetError(`cannot onboard ${name}: ${e.message}`, ExitCode.badInput, e.problems);
    throw e;
  }
}

export function bootstrapCommand(spec: FleetSpec, cluster: ClusterSpec): string {
  const file = cluster.delivery === "flux" ? "flux.yaml" : "app.yaml";
  return `kubectl --context ${cluster.name} apply -f clusters/${cluster.name}/bootstrap/${file}`;
}
