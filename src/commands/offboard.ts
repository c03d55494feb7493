/**
 * Offboarding as a pure planner: the spec without the cluster, its files removed, the teardown a person
 * runs.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { closest } from "fastest-levenshtein";
import { parseAllDocuments } from "yaml";
import { removeClusterEntry } from "../fleet/edit.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { deleteFile } from "../layout/file-change.js";
import { bootstrapApp, bootstrapFlux } from "../render/resources.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { credentialsPath, LOCAL_CREDENTIALS_DIR } from "../secrets/credentials.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { run } from "../util/process.js";
import {
  alreadyDonePlan,
  planFiles,
  type ChangePlan,
  type ClusterCommand,
  type SpecSource,
} from "./cluster-change.js";

export interface OffboardInput {
  source: SpecSource;
  name: string;
  /** Whether this machine holds the cluster's password file (.promfleet/credentials/<name>.password). */
  localPassword: boolean;
}

/**
 * Plans removing a cluster: the spec without its entry, its folder and encrypted credential deleted,
 * its local password file deleted, and the resources its removal deletes, for the pull request.
 * Writes nothing. The cluster must be in the spec (see noSuchCluster).
 */
export async function planOffboard(input: OffboardInput): Promise<ChangePlan> {
  const { source, name } = input;
  const cluster = source.before.clusters.find((c) => c.name === name);
  if (!cluster) throw noSuchCluster(source, name);
  refuseAggregatorWithAgents(source, cluster);
  const specAfter = removeClusterEntry(source.text, name);
  const credential = credentialsPath(name);
  // read while the change renders (mostly waiting for ytt); only a pull request's body uses them
  const resources = deployedResources(source.root, name);
  resources.catch(() => undefined); // a planFiles failure is the error to report
  const files = await planFiles(
    source,
    specAfter,
    existsSync(path.join(source.root, credential)) ? [deleteFile(credential)] : [],
    undefined,
    [name],
  );
  return {
    kind: "offboard",
    cluster: name,
    specFile: source.file,
    specBefore: source.text,
    specAfter,
    changes: files.changes,
    local: input.localPassword ? [deleteFile(localPasswordPath(name))] : [],
    listing: files.listing,
    labels: ["promfleet", "offboard"],
    template: {
      resources: await resources,
      authRevoked: source.before.remoteWrite.auth === "basic",
      ...teardown(source.before, cluster),
    },
    nextSteps: [],
    notes: [],
  };
}

function refuseAggregatorWithAgents(source: SpecSource, cluster: ClusterSpec): void {
  const agents = source.before.clusters.filter((c) => c.role === "agent").map((c) => c.name);
  if (cluster.role === "aggregator" && agents.length > 0)
    throw new PromfleetError(
      `refusing to offboard the aggregator ${cluster.name} while agents write to it`,
      ExitCode.badInput,
      [
        {
          file: source.file,
          path: "clusters",
          message: `agents still point at ${cluster.name}: ${agents.join(", ")}`,
          fix: "offboard the agents first (or make another cluster the aggregator)",
        },
      ],
    );
}

/** A name the spec does not have and never had (as far as promfleet can tell): exit 2, nearest name suggested. */
export function noSuchCluster(source: SpecSource, name: string): PromfleetError {
  const names = source.before.clusters.map((c) => c.name);
  const guess = closest(name, names);
  return new PromfleetError(`no such cluster ${name} in ${source.file}`, ExitCode.badInput, [
    {
      file: source.file,
      path: "clusters",
      message: `no cluster is named ${JSON.stringify(name)}`,
      fix: `did you mean ${guess}? The fleet has: ${names.join(", ")}`,
    },
  ]);
}

function localPasswordPath(name: string): string {
  return `${LOCAL_CREDENTIALS_DIR}/${name}.password`;
}

/** Every resource the cluster's delivery applied (kind namespace/name), read from its manifests. */
async function deployedResources(root: string, name: string): Promise<string[]> {
  const dir = path.join(root, CLUSTERS_DIR, name, "manifests");
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const resources: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), "utf8"))) {
      const r = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      if (r?.kind)
        resources.push(
          `${r.kind} ${r.metadata?.namespace ? `${r.metadata.namespace}/` : ""}${r.metadata?.name ?? "?"}`,
        );
    }
  }
  return resources;
}

/**
 * What a person runs after the merge: delete the delivery object (kubectl waits while its finalizer
 * uninstalls the package, which needs the bootstrap's rights), then what else the bootstrap created —
 * service accounts and RBAC, which would otherwise keep their rights on a cluster that left the fleet.
 * Namespaces stay: the package namespace may hold other things.
 */
function teardown(spec: FleetSpec, cluster: ClusterSpec): { deliveryName: string; teardown: string } {
  const flux = cluster.delivery === "flux";
  const bootstrap = (flux ? bootstrapFlux(spec, cluster) : bootstrapApp(spec, cluster)).map(objectRef);
  const delivery = bootstrap.find((r) => r.kind === (flux ? "Kustomization" : "App"));
  const kubectl = `kubectl --context ${cluster.name}`;
  const byNamespace = new Map<string, string[]>();
  for (const r of bootstrap.filter((r) => r !== delivery && r.kind !== "Namespace"))
    byNamespace.set(r.namespace, [
      ...(byNamespace.get(r.namespace) ?? []),
      `${r.kind.toLowerCase()}/${r.name}`,
    ]);
  const clusterScoped = byNamespace.get("") ?? [];
  byNamespace.delete("");
  const lines = [
    `${kubectl} -n ${delivery?.namespace} delete ${delivery?.kind.toLowerCase()} ${delivery?.name}`,
    ...[...byNamespace].map(
      ([ns, refs]) => `${kubectl} -n ${ns} delete --ignore-not-found ${refs.join(" ")}`,
    ),
    ...(clusterScoped.length ? [`${kubectl} delete --ignore-not-found ${clusterScoped.join(" ")}`] : []),
  ];
  return { deliveryName: flux ? "Flux Kustomization" : "kapp-controller App", teardown: lines.join("\n") };
}

function objectRef(resource: Record<string, unknown>): { kind: string; name: string; namespace: string } {
  const metadata = resource.metadata as { name: string; namespace?: string };
  return { kind: String(resource.kind), name: metadata.name, namespace: metadata.namespace ?? "" };
}

/**
 * offboard-cluster. A name missing from the spec is "already done" when it was offboarded (the spec's
 * Git history had it, or its offboarding pull request was merged), and "no such cluster" (exit 2)
 * otherwise: a typo must not look like success.
 */
export function offboardCommand(name: string): ClusterCommand {
  const inSpec = (source: SpecSource) => source.before.clusters.some((c) => c.name === name);
  const done = (source: SpecSource, why: string) =>
    alreadyDonePlan("offboard", source, name, `cluster ${name} is not in the fleet (${source.file}): ${why}`);
  return {
    kind: "offboard",
    cluster: name,
    planLocal: async (source) => {
      if (!inSpec(source)) {
        if (!(await wasInSpecHistory(source, name))) throw noSuchCluster(source, name);
        return done(source, `the history of ${source.file} shows it was offboarded`);
      }
      const localPassword = existsSync(path.join(source.root, localPasswordPath(name)));
      return planOffboard({ source, name, localPassword });
    },
    planPull: async (source, target) => {
      if (!inSpec(source)) {
        if (!(await target.gh.wasMerged(target.base, target.branch))) throw noSuchCluster(source, name);
        return done(source, `its offboarding pull request (${target.branch}) was merged`);
      }
      return planOffboard({ source, name, localPassword: false });
    },
  };
}

/** Whether a commit of the spec's Git history added or removed a `name: <name>` line. */
async function wasInSpecHistory(source: SpecSource, name: string): Promise<boolean> {
  const line = `^[[:space:]-]*name:[[:space:]]*["']?${name.replace(/[.[\]*^$\\+?(){}|]/g, "\\$&")}["']?[[:space:]]*$`;
  const log = await run("git", [
    "-C",
    source.root,
    "log",
    "-1",
    "--format=%H",
    "-G",
    line,
    "--",
    source.file,
  ]);
  return log.exitCode === 0 && log.stdout.toString("utf8").trim() !== "";
}
