/**
 * Renders the fleet: ytt per chunk of clusters, then one result per cluster (files, values, warnings,
 * problems).
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { appliedFiles, stageFleet } from "../ytt/stage.js";
import { findYtt, type Ytt } from "../ytt/ytt.js";
import { runChunks } from "../ytt/chunks.js";
import { credentialSlot, MOUNTS, needsPackageOverlay, packageOverlayFiles } from "./package-overlay.js";
import {
  bootstrapApp,
  bootstrapFlux,
  installRbac,
  kustomization,
  packageInstall,
  packageOverlaySecret,
  packageOverlaySecrets,
  valuesSecret,
} from "./resources.js";
import { finishValues, type ClusterWarning } from "./values.js";
import { MemoYaml } from "./memo-yaml.js";
import { toYaml } from "./yaml-format.js";
import { CLUSTERS_DIR, CREDENTIALS_FILE, GENERATED_MARKER } from "../layout/names.js";
import { formatRecord, recordPath, reusableFiles } from "../layout/render-record.js";
import { treeOfFiles, type ClusterTree, type StagedContent } from "../layout/tree.js";
import { gitBlobId } from "../layout/git-index.js";
import { fingerprints, type FingerprintSources } from "./fingerprint.js";
import { receiverDataValues } from "../receiver/render.js";

const HEADER = `${GENERATED_MARKER}\n#! Edit fleet.yaml or overlays/, then run: promfleet render\n`;

export interface RenderedFleet {
  /** Repository-relative path -> file content, for every file promfleet generates (but `staged`'s). */
  files: Map<string, string>;
  /** Files the caller staged as they were rendered (renderChanged's onRendered): their blob ids. */
  staged: Map<string, StagedContent>;
  /** Cluster name -> the package values as rendered (prometheus_yml as a string). */
  values: Map<string, Record<string, unknown>>;
  warnings: string[];
}

/**
 * What render reads besides the spec and the overlays: files in the cluster folders that render does
 * not generate but a cluster's delivery must apply (the SOPS-encrypted credential onboard-cluster
 * commits; Flux's kustomization.yaml has to list it). Gathered once, before rendering.
 */
export interface RenderInputs {
  /** Cluster name -> such files, relative to clusters/<name>/. */
  committedManifests: ReadonlyMap<string, readonly string[]>;
}

/** One cluster's share of a render: its files, or the problems that stop the render. */
export interface ClusterRender {
  cluster: string;
  /** Repository-relative path -> content; empty when there are problems or the files were staged. */
  files: Map<string, string>;
  /** Git blob id of each of `files`, once the render record is made. */
  blobIds?: Map<string, string>;
  /** Files staged by onRendered, their texts dropped: path -> blob id. */
  staged?: ReadonlyMap<string, StagedContent>;
  /** The package values as rendered; absent when there are problems. */
  values?: Record<string, unknown>;
  warnings: ClusterWarning[];
  problems: Problem[];
}

/**
 * Clusters per ytt process, chunk by chunk (the last size repeats): the first chunks are small, so this
 * process starts finishing clusters soon, the later ones larger, because each ytt process costs a fork of
 * this (by then large) process and ytt's own start. Against 125 throughout, alternating on one fleet:
 * 10,000 clusters 13.9 → 10.9 s (CPU 24.9 → 19.7 s); 1,000 clusters, within the noise (CPU 3.2 → 2.9 s).
 */
const CHUNK_SIZES = [64, 128, 256, 512];

/**
 * Renders every cluster with ytt (one evaluation per chunk of clusters, as many at once as there are
 * cores) and finishes each chunk in this process while the next chunks are still in ytt. Each cluster's
 * folder gets its render record. Nothing is written to the repository, and nothing read from it but
 * the overlays: `inputs` carries the rest. (renderChanged renders only what changed.)
 */
export async function renderFleet(spec: FleetSpec, inputs: RenderInputs, ytt?: Ytt): Promise<RenderedFleet> {
  return foldClusters(await renderClusters(spec, inputs, spec.clusters, ytt ?? (await findYtt())));
}

/** What a render of the tree ran: the fleet's files, and which clusters went through ytt. */
export interface ChangedRender {
  /**
   * The files of the clusters rendered again, and of the others those whose content was read (with a
   * tree given as a map: every file); warnings of every cluster; `values` only of the clusters rendered
   * again.
   */
  fleet: RenderedFleet;
  /** Clusters rendered again (in fleet order); every other cluster's files were reused as they are. */
  rendered: string[];
  /** Files of reused clusters left out of `fleet.files` (never read): as they are, they are right. */
  unchanged: Set<string>;
}

/**
 * The whole fleet's files, as renderFleet makes them, running ytt only for the clusters whose folder in
 * `tree` (the current clusters/: scanClusterTree's, or path -> content) is not exactly what its render
 * record says it was rendered as from today's inputs. A missing, stale or wrong record only makes a
 * cluster render again. `clusters` narrows it to some clusters' files (a change that touches only them;
 * `tree` may then hold only their folders). `onRendered` gets each cluster rendered again, without
 * problems, as soon as its chunk is finished (to stage its files while later chunks are in ytt); when it
 * returns the files' staged contents, the result carries those in `fleet.staged` instead of the texts
 * (and no `values` for that cluster).
 */
export async function renderChanged(
  spec: FleetSpec,
  inputs: RenderInputs,
  tree: ClusterTree | ReadonlyMap<string, string>,
  ytt?: Ytt | Promise<Ytt>,
  clusters: readonly ClusterSpec[] = spec.clusters,
  onRendered?: OnRendered,
): Promise<ChangedRender> {
  const binary = await (ytt ?? findYtt());
  const prints = await fingerprints(spec, fingerprintSources(inputs, binary), clusters);
  const files = tree instanceof Map ? tree : undefined;
  const scanned = files ? treeOfFiles(files) : (tree as ClusterTree);
  const folders = clusterFolders(scanned.paths);
  const reused = new Map<string, ClusterRender>();
  const unchanged = new Set<string>();
  for (const c of clusters) {
    const kept = reusableFiles(c.name, prints.get(c.name) as string, scanned, folders.get(c.name) ?? []);
    if (!kept) continue;
    if (files) reused.set(c.name, reusedCluster(c.name, kept.warnings, kept.files, files));
    else {
      kept.files.forEach((rel) => unchanged.add(rel));
      reused.set(c.name, reusedCluster(c.name, kept.warnings));
    }
  }
  const stale = clusters.filter((c) => !reused.has(c.name));
  const rendered = new Map(
    (await renderClusters(spec, inputs, stale, binary, prints, onRendered)).map((r) => [r.cluster, r]),
  );
  return {
    fleet: foldClusters(clusters.map((c) => (reused.get(c.name) ?? rendered.get(c.name)) as ClusterRender)),
    rendered: stale.map((c) => c.name),
    unchanged,
  };
}

/** A cluster whose files stay as they are: their content from `contents` when given, else none. */
function reusedCluster(
  cluster: string,
  warnings: string[],
  paths: string[] = [],
  contents: ReadonlyMap<string, string> = new Map(),
): ClusterRender {
  return {
    cluster,
    files: new Map(paths.map((rel) => [rel, contents.get(rel) as string])),
    warnings: warnings.map((message) => ({ cluster, message })),
    problems: [],
  };
}

/** Cluster name -> every file path in its folder (repository paths). */
function clusterFolders(paths: readonly string[]): Map<string, string[]> {
  const folders = new Map<string, string[]>();
  const prefix = `${CLUSTERS_DIR}/`;
  for (const rel of paths) {
    const end = rel.indexOf("/", prefix.length);
    if (!rel.startsWith(prefix) || end === -1) continue;
    const cluster = rel.slice(prefix.length, end);
    const folder = folders.get(cluster);
    if (folder) folder.push(rel);
    else folders.set(cluster, [rel]);
  }
  return folders;
}

function fingerprintSources(inputs: RenderInputs, ytt: Ytt): FingerprintSources {
  return {
    committedManifests: inputs.committedManifests,
    yttVersion: ytt.version,
  };
}

/** Takes a cluster's rendered files as soon as they are made; returns their staged contents when it staged them. */
export type OnRendered = (render: ClusterRender) => ReadonlyMap<string, StagedContent> | void;

/** The clusters' results in fleet order, each with its render record; ytt runs per chunk of clusters. */
async function renderClusters(
  spec: FleetSpec,
  inputs: RenderInputs,
  clusters: readonly ClusterSpec[],
  ytt: Ytt,
  prints?: ReadonlyMap<string, string>,
  onRendered: OnRendered = () => {},
): Promise<ClusterRender[]> {
  if (clusters.length === 0) return [];
  const inputPrints = prints ?? (await fingerprints(spec, fingerprintSources(inputs, ytt), clusters));
  const stage = await stageFleet(spec, clusters, CHUNK_SIZES);
  try {
    const memo = new MemoYaml();
    const rendered = await runChunks({
      ytt,
      stage,
      parallel: os.availableParallelism(),
      dataValues: (staged) => yttDataValues(spec, staged.clusters, staged.stackOf),
      finish: (c, values) => {
        const render = withRecord(
          assembleCluster(spec, c, values === undefined ? [] : [values], inputs, memo),
          inputPrints.get(c.name) as string,
        );
        const staged = render.problems.length === 0 ? onRendered(render) : undefined;
        // the texts are staged: keeping them until the apply would hold the whole fleet's output
        return staged
          ? { ...render, files: new Map(), blobIds: undefined, values: undefined, staged }
          : render;
      },
    });
    const byName = new Map(rendered.map((r) => [r.cluster, r]));
    return clusters.map((c) => byName.get(c.name) as ClusterRender);
  } finally {
    await stage.cleanup();
  }
}

/** A rendered cluster's files plus the record of what they were rendered from, and every file's blob id. */
function withRecord(render: ClusterRender, inputs: string): ClusterRender {
  if (render.problems.length > 0) return render;
  const warnings = render.warnings.map((w) => w.message);
  const blobIds = new Map([...render.files].map(([rel, text]) => [rel, gitBlobId(text)]));
  const record = formatRecord(render.cluster, inputs, blobIds, warnings);
  const own = recordPath(render.cluster);
  blobIds.set(own, gitBlobId(record));
  return { ...render, files: render.files.set(own, record), blobIds };
}

/**
 * Reads the render inputs that live in the working tree at spec.root: committed SOPS credentials, from
 * `tree` when the caller scanned clusters/ already. Synchronous on purpose (see readClusterTree): a
 * promise per cluster costs more than the check.
 */
export async function readRenderInputs(spec: FleetSpec, tree?: ClusterTree): Promise<RenderInputs> {
  const listed = tree && new Set(tree.paths);
  const exists = (rel: string) => (listed ? listed.has(rel) : existsSync(path.join(spec.root, rel)));
  const committedManifests = new Map<string, string[]>();
  for (const c of spec.clusters)
    if (exists(`${CLUSTERS_DIR}/${c.name}/${CREDENTIALS_FILE}`))
      committedManifests.set(c.name, [CREDENTIALS_FILE]);
  return { committedManifests };
}

/**
 * The inputs as they will be once a change commits `written` files and deletes `deleted` ones
 * (repository-relative): onboarding commits a credential that the working tree does not hold yet.
 */
export function inputsAfterChange(
  inputs: RenderInputs,
  written: Iterable<string>,
  deleted: Iterable<string> = [],
): RenderInputs {
  const committed = new Map([...inputs.committedManifests].map(([c, files]) => [c, new Set(files)]));
  const edit = (file: string, add: boolean) => {
    const [dir, cluster, ...rest] = file.split("/");
    if (dir !== CLUSTERS_DIR || cluster === undefined || rest.join("/") !== CREDENTIALS_FILE) return;
    const files = committed.get(cluster) ?? new Set<string>();
    if (add) files.add(CREDENTIALS_FILE);
    else files.delete(CREDENTIALS_FILE);
    committed.set(cluster, files);
  };
  for (const file of written) edit(file, true);
  for (const file of deleted) edit(file, false);
  return {
    committedManifests: new Map(
      [...committed].filter(([, files]) => files.size > 0).map(([c, files]) => [c, [...files].sort()]),
    ),
  };
}

/**
 * The fleet's render from its clusters' in fleet order (so the same inputs give the same maps whichever
 * ytt run finished first); throws every cluster's problems at once.
 */
export function foldClusters(clusters: ClusterRender[]): RenderedFleet {
  const problems = clusters.flatMap((c) => c.problems);
  if (problems.length > 0)
    throw new PromfleetError(
      `rendered values are not safe to deploy; nothing was written`,
      ExitCode.badInput,
      problems,
    );
  return {
    files: new Map(clusters.flatMap((c) => [...c.files])),
    staged: new Map(clusters.flatMap((c) => [...(c.staged ?? [])])),
    values: new Map(clusters.flatMap((c) => (c.values ? [[c.cluster, c.values] as const] : []))),
    warnings: summarizeWarnings(clusters.flatMap((c) => c.warnings)),
  };
}

function yttDataValues(spec: FleetSpec, clusters: ClusterSpec[], stackOf: Map<string, string>) {
  return {
    clusters: clusters.map((c) => ({ stack: stackOf.get(c.name), cluster: clusterDataValues(spec, c) })),
  };
}

/** What overlays see as `data.values.cluster`; documented in the README. */
export function clusterDataValues(spec: FleetSpec, c: ClusterSpec) {
  return {
    name: c.name,
    role: c.role,
    retention: c.retention,
    storage: c.storage ?? null,
    ingressHost: c.ingressHost ?? null,
    walPath: c.walPath ?? null,
    monitoringNamespace: spec.package.monitoringNamespace,
    kubernetesApiInsecureSkipVerify: spec.kubernetesApi.insecureSkipVerify,
    exposeFullApi: spec.exposeFullApi,
    remoteWrite: {
      ...receiverDataValues(spec.remoteWrite.receiver, spec.remoteWrite.url, c.name),
      insecureSkipVerify: spec.remoteWrite.insecureSkipVerify,
      caFile: spec.remoteWrite.caSecret ? MOUNTS.remoteWriteCaFile : null,
    },
    auth: {
      enabled: spec.remoteWrite.auth === "basic",
      username: credentialSlot(c.name, c.credentialGeneration).username,
      passwordFile: credentialSlot(c.name, c.credentialGeneration).file,
      webConfigFile: MOUNTS.webConfigFile,
    },
  };
}

/** Serialises the documents `build` makes for one cluster, memoised across clusters by shape. */
type NamedDocuments = (build: (c: ClusterSpec) => unknown[]) => string;

function namedDocuments(cluster: ClusterSpec, memo: MemoYaml): NamedDocuments {
  return (build) => memo.documents(cluster.name, (name) => build({ ...cluster, name }));
}

/** What the cluster's delivery applies, by file under clusters/<name>/, serialised. */
function manifestTexts(
  spec: FleetSpec,
  cluster: ClusterSpec,
  valuesText: string,
  memo: MemoYaml,
  named: NamedDocuments,
): Map<string, string> {
  const withOverlay = needsPackageOverlay(spec, cluster);
  const files = new Map<string, string>([
    ...(spec.rbac === "cluster-admin"
      ? [["manifests/rbac.yaml", named(() => installRbac(spec))] as const]
      : []),
    [
      "manifests/values-secret.yaml",
      memo.documentsWithText((text) => [valuesSecret(spec, text)], "values.yaml", valuesText),
    ],
    [
      "manifests/package-install.yaml",
      named((c) => [packageInstall(spec, c, packageOverlaySecrets(spec, withOverlay))]),
    ],
  ]);
  if (withOverlay)
    files.set(
      "manifests/package-overlay.yaml",
      named((c) => [packageOverlaySecret(spec, packageOverlayFiles(spec, c))]),
    );
  return files;
}

/** One cluster's files from its values document, or the problems that stop the render. */
function assembleCluster(
  spec: FleetSpec,
  cluster: ClusterSpec,
  docs: unknown[],
  inputs: RenderInputs,
  memo: MemoYaml,
): ClusterRender {
  const dir = `${CLUSTERS_DIR}/${cluster.name}`;
  const failed = (problems: Problem[], warnings: ClusterWarning[] = []): ClusterRender => ({
    cluster: cluster.name,
    files: new Map(),
    warnings,
    problems,
  });
  if (docs.length !== 1)
    return failed([
      {
        file: `${dir}/values.yaml`,
        message: `cluster ${cluster.name}: overlays produced ${docs.length} values documents, expected exactly 1`,
        fix: "return one document from values(cluster); let each overlay_for(cluster) merge into it",
      },
    ]);
  const finished = finishValues(spec, cluster, docs[0], appliedFiles(spec, cluster), memo);
  if (!finished.values) return failed(finished.problems, finished.warnings);
  const files = clusterFiles(spec, cluster, finished.values, inputs, memo);
  return {
    cluster: cluster.name,
    files: new Map([...files].map(([file, text]) => [`${dir}/${file}`, HEADER + text])),
    values: finished.values,
    warnings: finished.warnings,
    problems: [],
  };
}

/** Every file of a cluster's folder, by path under clusters/<name>/, without the header. */
function clusterFiles(
  spec: FleetSpec,
  cluster: ClusterSpec,
  values: Record<string, unknown>,
  inputs: RenderInputs,
  memo: MemoYaml,
): Map<string, string> {
  const named = namedDocuments(cluster, memo);
  const valuesText = memo.mapWithText(values, ["prometheus", "config", "prometheus_yml"]);
  const manifests = manifestTexts(spec, cluster, valuesText, memo, named);
  const files = new Map([["values.yaml", valuesText], ...manifests]);
  if (cluster.delivery === "flux") {
    const committed = inputs.committedManifests.get(cluster.name) ?? [];
    files.set("kustomization.yaml", toYaml(kustomization([...manifests.keys(), ...committed].sort())));
    files.set(
      "bootstrap/flux.yaml",
      named((c) => bootstrapFlux(spec, c)),
    );
  } else
    files.set(
      "bootstrap/app.yaml",
      named((c) => bootstrapApp(spec, c)),
    );
  return files;
}

/** One line per distinct warning, naming the clusters it applies to, so large fleets stay readable. */
function summarizeWarnings(warnings: ClusterWarning[]): string[] {
  const byMessage = new Map<string, string[]>();
  for (const w of warnings) {
    const clusters = byMessage.get(w.message);
    if (clusters) clusters.push(w.cluster);
    else byMessage.set(w.message, [w.cluster]);
  }
  return [...byMessage].map(([message, clusters]) => {
    const shown =
      clusters.slice(0, 5).join(", ") + (clusters.length > 5 ? `, … (${clusters.length} clusters)` : "");
    return `${message} [${shown}]`;
  });
}
