import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { hasCluster, removeCluster } from "../fleet/edit.js";
import type { ClusterSpec } from "../fleet/spec.js";
import { CLUSTERS_DIR } from "../layout/names.js";
import { credentialsPath } from "../secrets/credentials.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { ChangeContext, ClusterChange, DecideChange } from "./cluster-change.js";

/** Removes a cluster from the spec and its folder, listing every resource its removal deletes. */
export function decideOffboard(name: string): DecideChange {
  return async (ctx: ChangeContext): Promise<ClusterChange> => {
    const change: ClusterChange = {
      cluster: name,
      kind: "offboard",
      labels: ["promfleet", "offboard"],
      template: {},
    };
    if (!hasCluster(ctx.doc, name))
      return { ...change, nothingToDo: `cluster ${name} is not in the fleet (${ctx.file}); nothing to do` };
    const cluster = ctx.before.clusters.find((c) => c.name === name) as ClusterSpec;
    const agents = ctx.before.clusters.filter((c) => c.role === "agent").map((c) => c.name);
    if (cluster.role === "aggregator" && agents.length > 0)
      throw new PromfleetError(
        `refusing to offboard the aggregator ${name} while agents write to it`,
        ExitCode.badInput,
        [
          {
            file: ctx.file,
            path: "clusters",
            message: `agents still point at ${name}: ${agents.join(", ")}`,
            fix: "offboard the agents first (or make another cluster the aggregator)",
          },
        ],
      );
    removeCluster(ctx.doc, name);
    const credential = credentialsPath(name);
    const hasCredential = await readFile(path.join(ctx.root, credential)).then(
      () => true,
      () => false,
    );
    return {
      ...change,
      alsoDelete: hasCredential ? [credential] : [],
      template: {
        resources: await deployedResources(ctx.root, name),
        authRevoked: ctx.before.remoteWrite.auth === "basic",
        ...teardown(ctx, cluster),
      },
    };
  };
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

function teardown(ctx: ChangeContext, cluster: ClusterSpec): { deliveryName: string; teardown: string } {
  if (cluster.delivery === "flux")
    return {
      deliveryName: "Flux Kustomization",
      teardown: `kubectl --context ${cluster.name} -n ${ctx.before.flux.namespace} delete kustomization promfleet-${cluster.name}`,
    };
  return {
    deliveryName: "kapp-controller App",
    teardown: `kubectl --context ${cluster.name} -n ${ctx.before.package.namespace} delete app promfleet-${cluster.name}`,
  };
}
