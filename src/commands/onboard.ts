/**
 * Onboarding as a pure planner: the spec with a new agent, its rendered files and credential, what a person
 * runs next.
 */
import { existsSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { appendClusterEntry } from "../fleet/edit.js";
import { REPO_FILE_PATH } from "../fleet/schema.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFile, type FileChange } from "../layout/file-change.js";
import { bcryptLibrary } from "../secrets/credential-hash.js";
import {
  credentialFiles,
  credentialNextSteps,
  credentialsPath,
  LOCAL_CREDENTIALS_DIR,
  newCredential,
  type NewCredential,
} from "../secrets/credentials.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import {
  alreadyDonePlan,
  commitOf,
  planFiles,
  readSpec,
  type ChangePlan,
  type ClusterCommand,
  type PullTarget,
  type SpecSource,
} from "./cluster-change.js";

export interface OnboardRequest {
  name: string;
  role: "agent";
  overlays: string[];
  /** Dotted path -> value, from --set key=value (see parseSetFlags). */
  values: Record<string, unknown>;
  /** SOPS: the cluster's own age public key, from --age-recipient. */
  ageRecipient?: string;
}

/** The credential a new cluster gets: a fresh one, or the one an earlier run of the same change made. */
export type CredentialChoice =
  { kind: "new"; credential: NewCredential } | { kind: "kept"; passwordHash: string; encrypted?: string };

export interface OnboardInput {
  source: SpecSource;
  request: OnboardRequest;
  /** Needed when the fleet authenticates writes (remoteWrite.auth basic) and the cluster is new. */
  credential?: CredentialChoice;
  /** Overlay files the change brings along (named by --overlay, not yet on the base). */
  carried?: FileChange[];
  existed?: (rel: string) => boolean;
}

/**
 * Plans adding an agent: the new spec text (the entry appended, every other line kept), the rendered
 * files, its credential files, the pull request's template context and what a person does next.
 * Writes nothing; `input` is not modified.
 */
export async function planOnboard(input: OnboardInput): Promise<ChangePlan> {
  const { source, request } = input;
  const existing = source.before.clusters.find((c) => c.name === request.name);
  if (existing) return existingCluster(source, request, existing);
  const credential = credentialFor(source.before, request.name, input.credential);
  const specAfter = appendClusterEntry(source.text, {
    ...request,
    passwordHash: credential && hashOf(credential),
  });
  let secret: Awaited<ReturnType<typeof credentialChanges>> | undefined;
  // the committed credential is a render input (a Flux kustomization lists it), so it joins the plan
  const withCredential = async (spec: FleetSpec) => {
    const added = spec.clusters.find((c) => c.name === request.name) as ClusterSpec;
    secret = credential && (await credentialChanges(spec, added, credential));
    return [...(input.carried ?? []), ...(secret?.repo ?? [])];
  };
  const files = await explainFailure(request.name, () =>
    planFiles(source, specAfter, withCredential, input.existed, [request.name]),
  );
  const cluster = files.spec.clusters.find((c) => c.name === request.name) as ClusterSpec;
  return {
    kind: "onboard",
    cluster: request.name,
    specFile: source.file,
    specBefore: source.text,
    specAfter,
    changes: files.changes,
    local: secret?.local ?? [],
    listing: files.listing,
    labels: ["promfleet", "onboard"],
    template: {
      role: request.role,
      bootstrap: bootstrapCommand(cluster),
      // Flux retries a Kustomization that found no decryption Secret only after its retryInterval
      // (2m); its namespace exists before the bootstrap, unlike kapp-controller's package namespace.
      credentialFirst: cluster.delivery === "flux",
    },
    nextSteps: secret?.nextSteps ?? [],
    notes: [],
  };
}

/**
 * Onboarding a name the fleet has is done when it asked for nothing the entry lacks. Anything else is
 * refused: onboard-cluster adds clusters, it does not edit them, and dropping a --set silently would
 * leave the person believing it applied.
 */
function existingCluster(source: SpecSource, request: OnboardRequest, existing: ClusterSpec): ChangePlan {
  const index = source.before.clusters.indexOf(existing);
  const at = { file: source.file, path: `clusters[${index}]` };
  if (existing.role === "aggregator")
    throw new PromfleetError(
      `${request.name} is already the fleet's aggregator; onboard-cluster adds agents`,
      ExitCode.badInput,
      [
        {
          ...at,
          message: `${request.name} has role: aggregator`,
          fix: "give the new agent another name; the aggregator needs no onboarding",
        },
      ],
    );
  const differing = [
    ...request.overlays.filter((o) => !existing.overlays.includes(o)).map((o) => `--overlay ${o}`),
    ...Object.entries(request.values)
      .filter(([key, value]) => !isDeepStrictEqual(existing.values[key], value))
      .map(([key, value]) => `--set ${key}=${JSON.stringify(value)}`),
    ...(request.ageRecipient && request.ageRecipient !== existing.ageRecipient
      ? [`--age-recipient ${request.ageRecipient}`]
      : []),
  ];
  if (differing.length === 0)
    return alreadyDonePlan(
      "onboard",
      source,
      request.name,
      `cluster ${request.name} is already in the fleet (${source.file})`,
    );
  throw new PromfleetError(
    `cluster ${request.name} is already in the fleet; onboard-cluster does not change it: ${differing.join(", ")} not applied`,
    ExitCode.badInput,
    [
      {
        ...at,
        message: `already onboarded; ${differing.join(", ")} would change it`,
        fix: `edit ${at.path}.overlays / ${at.path}.values in ${source.file}, then run 'promfleet render' (and commit, or open a pull request with the edit)`,
      },
    ],
  );
}

function credentialFor(
  before: FleetSpec,
  name: string,
  credential: CredentialChoice | undefined,
): CredentialChoice | undefined {
  if (before.remoteWrite.auth !== "basic") return undefined;
  if (!credential) throw new Error(`planOnboard(${name}): remoteWrite.auth is basic but no credential given`);
  return credential;
}

function hashOf(c: CredentialChoice): string {
  return c.kind === "new" ? c.credential.passwordHash : c.passwordHash;
}

async function credentialChanges(
  spec: FleetSpec,
  cluster: ClusterSpec,
  credential: CredentialChoice,
): Promise<{ repo: FileChange[]; local: FileChange[]; nextSteps: string[] }> {
  if (credential.kind === "kept")
    return {
      repo: credential.encrypted ? [writeFile(credentialsPath(cluster.name), credential.encrypted)] : [],
      local: [],
      nextSteps: credentialNextSteps(spec, cluster),
    };
  const files = await credentialFiles(spec, cluster, credential.credential.password);
  const asChanges = (m: Map<string, string>) => [...m].map(([rel, content]) => writeFile(rel, content));
  return { repo: asChanges(files.repo), local: asChanges(files.local), nextSteps: files.nextSteps };
}

async function explainFailure<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof PromfleetError)
      throw new PromfleetError(`cannot onboard ${name}: ${e.message}`, e.exitCode, e.problems);
    throw e;
  }
}

export function bootstrapCommand(cluster: ClusterSpec): string {
  const file = cluster.delivery === "flux" ? "flux.yaml" : "app.yaml";
  return `kubectl --context ${cluster.name} apply -f clusters/${cluster.name}/bootstrap/${file}`;
}

/**
 * onboard-cluster: in the working tree a fresh credential (from `mint`, when the fleet needs one); for a
 * pull request, see planPull.
 */
export function onboardCommand(
  request: OnboardRequest,
  mint: () => Promise<NewCredential> = async () => newCredential(),
): ClusterCommand {
  const needsCredential = (source: SpecSource) =>
    source.before.remoteWrite.auth === "basic" &&
    !source.before.clusters.some((c) => c.name === request.name);
  return {
    kind: "onboard",
    cluster: request.name,
    planLocal: async (source) =>
      planOnboard({
        source,
        request,
        credential: needsCredential(source) ? { kind: "new", credential: await mint() } : undefined,
      }),
    planPull: async (source, target) => {
      const planOn: PlanOn = async (base, credential) => {
        const carried = await carryOverlays(request.overlays, target.workTree, base.root);
        return planOnboard({
          source: base,
          request,
          credential,
          carried: carried.changes,
          existed: (rel) => !carried.added.has(rel) && existsSync(path.join(base.root, rel)),
        });
      };
      if (!needsCredential(source)) return planOn(source);
      return planWithTrustedCredential(source, target, request.name, planOn);
    },
  };
}

/** Plans the onboarding on a base (the current one, or the one the open pull request was made on). */
type PlanOn = (base: SpecSource, credential?: CredentialChoice) => Promise<ChangePlan>;

/**
 * A re-run keeps the open pull request's credential, so that it never rotates a password behind a
 * person's back, but only one promfleet made: the branch head must be exactly the commit promfleet
 * makes for that credential (on the base it was made on), or the hash must match the password kept on
 * this machine. Anything else (a collaborator's commit planting their own hash and SOPS file) gets a
 * new credential, and a note saying why.
 */
async function planWithTrustedCredential(
  source: SpecSource,
  target: PullTarget,
  name: string,
  planOn: PlanOn,
): Promise<ChangePlan> {
  const open = target.open;
  const candidate = open && (await credentialOnBranch(source, target, name, open.headSha));
  if (!open || !candidate) return planOn(source, { kind: "new", credential: newCredential() });
  const kept = await planOn(source, { kind: "kept", ...candidate });
  if ((await commitOf(kept, target.gh, target.snapshot)) === open.headSha) return kept;
  if (await matchesLocalPassword(target.workTree, name, candidate.passwordHash)) return kept;
  if (
    await madeOnEarlierBase(target, open.headSha, source.file, (base) =>
      planOn(base, { kind: "kept", ...candidate }),
    )
  )
    return kept;
  const fresh = await planOn(source, { kind: "new", credential: newCredential() });
  return {
    ...fresh,
    notes: [
      `the head of ${target.branch} (${open.headSha.slice(0, 7)}) is not the commit promfleet made for it, and its credential matches no password on this machine: minted a new credential for ${name} rather than adopt one somebody else may know`,
    ],
  };
}

/** Whether `head` is the commit promfleet makes on head's parent, when that parent is an older base. */
async function madeOnEarlierBase(
  target: PullTarget,
  head: string,
  specFile: string,
  planOn: (base: SpecSource) => Promise<ChangePlan>,
): Promise<boolean> {
  const parents = await target.gh.commitParents(head);
  const parent = parents[0];
  if (parents.length !== 1 || !parent || parent === target.snapshot.sha) return false;
  const { snapshotBase } = await import("../github/base-snapshot.js");
  const earlier = await snapshotBase(target.gh, parent);
  try {
    const plan = await planOn(await readSpec(earlier.dir, specFile));
    return (await commitOf(plan, target.gh, earlier)) === head;
  } catch (e) {
    if (e instanceof PromfleetError) return false; // that base does not plan: not a commit promfleet made
    throw e;
  } finally {
    await earlier.cleanup();
  }
}

/** The hash (and, with SOPS, the encrypted credential) the open pull request's head holds. */
async function credentialOnBranch(
  source: SpecSource,
  target: PullTarget,
  name: string,
  head: string,
): Promise<{ passwordHash: string; encrypted?: string } | undefined> {
  const text = await target.gh.readFile(source.file, head);
  const clusters = (parse(text ?? "") as { clusters?: unknown } | null)?.clusters;
  const entry = Array.isArray(clusters)
    ? (clusters as Array<{ name?: unknown; credential?: { passwordHash?: unknown } }>).find(
        (c) => c?.name === name,
      )
    : undefined;
  const passwordHash = entry?.credential?.passwordHash;
  if (typeof passwordHash !== "string") return undefined;
  if (source.before.secrets.provider !== "sops") return { passwordHash };
  const encrypted = await target.gh.readFile(credentialsPath(name), head);
  return encrypted === undefined ? undefined : { passwordHash, encrypted };
}

async function matchesLocalPassword(workTree: string, name: string, hash: string): Promise<boolean> {
  const password = await readFile(
    path.join(workTree, LOCAL_CREDENTIALS_DIR, `${name}.password`),
    "utf8",
  ).catch(() => undefined);
  return password !== undefined && bcryptLibrary().compareSync(password, hash);
}

/**
 * `--overlay` files as they are in the working tree, when the base lacks them or has another version:
 * written into the base snapshot (so the change renders with them) and carried into the pull request.
 * Only paths the spec accepts, resolving inside the working tree, are carried; others are left for the
 * spec check to report.
 */
export async function carryOverlays(
  overlays: string[],
  workTree: string,
  snapshot: string,
): Promise<{ changes: FileChange[]; added: Set<string> }> {
  const changes: FileChange[] = [];
  const added = new Set<string>();
  const realTree = await realpath(workTree);
  for (const rel of overlays.filter((o) => new RegExp(REPO_FILE_PATH).test(o))) {
    const real = await realpath(path.join(workTree, rel)).catch(() => undefined);
    if (!real?.startsWith(realTree + path.sep)) continue;
    const local = await readFile(real, "utf8");
    const base = await readFile(path.join(snapshot, rel), "utf8").catch(() => undefined);
    if (local === base) continue;
    if (base === undefined) added.add(rel);
    await writeFileAtomic(path.join(snapshot, rel), local);
    changes.push(writeFile(rel, local));
  }
  return { changes, added };
}
