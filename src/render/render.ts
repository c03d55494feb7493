import { access, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { mapBounded } from "../util/pool.js";
import { parseConcatenatedJson } from "../util/json-stream.js";
import { stageFleet } from "../ytt/stage.js";
import { findYtt, runYtt, type Ytt } from "../ytt/ytt.js";
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
import { finishValues, RenderProblems, type ClusterWarning } from "./values.js";
import { MemoYaml } from "./memo-yaml.js";
import { toYaml } from "./yaml-format.js";
import { CLUSTERS_DIR, CREDENTIALS_FILE, GENERATED_MARKER } from "../layout/names.js";

const HEADER = `${GENERATED_MARKER}\n#! Edit fleet.yaml or overlays/, then run: promfleet render\n`;
const MARKER_KEY = "promfleet.dev/cluster";

export interface RenderedFleet {
  /** Repository-relative path -> file content, for every file promfleet generates. */
  files: Map<string, string>;
  /** Cluster name -> the package values as rendered (prometheus_yml as a string). */
  values: Map<string, Record<string, unknown>>;
  warnings: string[];
}

/** Clusters per ytt process: small enough that finishing one chunk overlaps the next one's ytt run. */
const CLUSTERS_PER_CHUNK = 125;

/**
 * Renders every cluster with ytt (one evaluation per chunk of clusters, as many at once as there are
 * cores) and finishes each chunk in this process while the next chunks are still in ytt. Nothing is
 * written to the repository.
 */
export async function renderFleet(spec: FleetSpec, ytt?: Ytt): Promise<RenderedFleet> {
  const binary = ytt ?? (await findYtt());
  const stage = await stageFleet(spec);
  try {
    const credentialFiles = await existingCredentialFiles(spec);
    const parts = await mapBounded(
      chunk(spec.clusters, CLUSTERS_PER_CHUNK),
      os.availableParallelism(),
      async (clusters, i) => {
        const dataValues = path.join(stage.dir, `fleet-values-${i}.json`);
        await writeFile(dataValues, JSON.stringify(yttDataValues(spec, clusters, stage.stackOf)));
        const output = await runYtt(binary, {
          files: [stage.dir],
          dataValuesFiles: [dataValues],
          output: "json",
          renamePaths: stage.renamePaths,
        });
        return assemble(spec, clusters, valuesByCluster(parseConcatenatedJson(output)), credentialFiles);
      },
    );
    return merge(parts);
  } finally {
    await stage.cleanup();
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
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
      url: spec.remoteWrite.url,
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

/** Each marker document names the cluster whose values document follows it. */
function valuesByCluster(docs: unknown[]): Map<string, unknown[]> {
  const byCluster = new Map<string, unknown[]>();
  let current: unknown[] | undefined;
  for (const doc of docs) {
    const marker = (doc as Record<string, unknown> | null)?.[MARKER_KEY];
    if (typeof marker === "string") byCluster.set(marker, (current = []));
    else if (doc !== null && current) current.push(doc);
  }
  return byCluster;
}

/**
 * Files in a cluster's folder that promfleet does not render but its delivery must apply: the
 * SOPS-encrypted credentials onboard-cluster writes. Flux's kustomization.yaml has to list them.
 */
async function existingCredentialFiles(spec: FleetSpec): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  await Promise.all(
    spec.clusters.map(async (c) => {
      const file = path.join(spec.root, CLUSTERS_DIR, c.name, CREDENTIALS_FILE);
      if (
        await access(file).then(
          () => true,
          () => false,
        )
      )
        found.set(c.name, [CREDENTIALS_FILE]);
    }),
  );
  return found;
}

interface ChunkResult {
  rendered: RenderedFleet;
  warnings: ClusterWarning[];
  problems: Problem[];
}

function assemble(
  spec: FleetSpec,
  clusters: ClusterSpec[],
  valuesDocs: Map<string, unknown[]>,
  extraManifests: Map<string, string[]>,
): ChunkResult {
  const memo = new MemoYaml();
  const result: ChunkResult = {
    rendered: { files: new Map(), values: new Map(), warnings: [] },
    warnings: [],
    problems: [],
  };
  for (const cluster of clusters) {
    try {
      result.warnings.push(
        ...assembleCluster(
          spec,
          cluster,
          valuesDocs.get(cluster.name) ?? [],
          result.rendered,
          extraManifests,
          memo,
        ),
      );
    } catch (e) {
      if (!(e instanceof RenderProblems)) throw e;
      result.problems.push(...e.problems);
    }
  }
  return result;
}

/** Chunks in fleet order: the same inputs always give the same maps, whichever ytt run finished first. */
function merge(parts: ChunkResult[]): RenderedFleet {
  const problems = parts.flatMap((p) => p.problems);
  if (problems.length > 0)
    throw new PromfleetError(
      `rendered values are not safe to deploy; nothing was written`,
      ExitCode.badInput,
      problems,
    );
  return {
    files: new Map(parts.flatMap((p) => [...p.rendered.files])),
    values: new Map(parts.flatMap((p) => [...p.rendered.values])),
    warnings: summarizeWarnings(parts.flatMap((p) => p.warnings)),
  };
}

/** What the cluster's delivery applies, by file under clusters/<name>/, serialised. */
function manifestTexts(
  spec: FleetSpec,
  cluster: ClusterSpec,
  valuesText: string,
  memo: MemoYaml,
): Map<string, string> {
  const withOverlay = needsPackageOverlay(spec, cluster);
  const named = (build: (c: ClusterSpec) => unknown[]) =>
    memo.documents(cluster.name, (name) => build({ ...cluster, name }));
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

function assembleCluster(
  spec: FleetSpec,
  cluster: ClusterSpec,
  docs: unknown[],
  out: RenderedFleet,
  extraManifests: Map<string, string[]>,
  memo: MemoYaml,
): ClusterWarning[] {
  const dir = `${CLUSTERS_DIR}/${cluster.name}`;
  if (docs.length !== 1)
    throw new PromfleetError(
      `cluster ${cluster.name}: overlays produced ${docs.length} values documents, expected exactly 1`,
      ExitCode.badInput,
    );
  const { values, warnings } = finishValues(spec, cluster, docs[0] as Record<string, unknown>, memo);
  out.values.set(cluster.name, values);
  const valuesText = memo.mapWithText(values, ["prometheus", "config", "prometheus_yml"]);
  const manifests = manifestTexts(spec, cluster, valuesText, memo);
  out.files.set(`${dir}/values.yaml`, HEADER + valuesText);
  for (const [file, text] of manifests) out.files.set(`${dir}/${file}`, HEADER + text);
  const named = (build: (c: ClusterSpec) => unknown[]) =>
    memo.documents(cluster.name, (name) => build({ ...cluster, name }));
  if (cluster.delivery === "flux") {
    const listed = [...manifests.keys(), ...(extraManifests.get(cluster.name) ?? [])].sort();
    out.files.set(`${dir}/kustomization.yaml`, HEADER + toYaml(kustomization(listed)));
    out.files.set(`${dir}/bootstrap/flux.yaml`, HEADER + named((c) => bootstrapFlux(spec, c)));
  } else out.files.set(`${dir}/bootstrap/app.yaml`, HEADER + named((c) => bootstrapApp(spec, c)));
  return warnings;
}

/** One line per distinct warning, naming the clusters it applies to, so large fleets stay readable. */
function summarizeWarnings(warnings: ClusterWarning[]): string[] {
  const byMessage = new Map<string, string[]>();
  for (const w of warnings) byMessage.set(w.message, [...(byMessage.get(w.message) ?? []), w.cluster]);
  return [...byMessage].map(([message, clusters]) => {
    const shown =
      clusters.slice(0, 5).join(", ") + (clusters.length > 5 ? `, … (${clusters.length} clusters)` : "");
    return `${message} [${shown}]`;
  });
}
