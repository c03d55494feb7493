import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { isMap, isSeq, parseDocument, type Document } from "yaml";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { newCredential, storeCredential, type StoredCredential } from "./credentials.js";

/**
 * Gives a cluster a new credential: its bcrypt hash goes into the fleet spec (comments and formatting
 * kept), the password where the cluster's Prometheus reads it (see storeCredential). The old password
 * stops working as soon as the aggregator's web config is re-rendered and rolled out.
 */
export async function enrollCluster(spec: FleetSpec, cluster: ClusterSpec): Promise<StoredCredential> {
  const credential = newCredential();
  const specPath = path.join(spec.root, spec.file);
  const doc = parseDocument(await readFile(specPath, "utf8"));
  setPasswordHash(doc, cluster.name, credential.passwordHash);
  const stored = await storeCredential(spec, cluster, credential.password);
  const tmp = `${specPath}.tmp-${process.pid}`;
  await writeFile(tmp, doc.toString());
  await rename(tmp, specPath);
  return stored;
}

/** Sets clusters[name].credential.passwordHash in the spec document. */
export function setPasswordHash(doc: Document, clusterName: string, hash: string): void {
  const clusters = doc.get("clusters", true);
  const index = isSeq(clusters)
    ? clusters.items.findIndex((c) => isMap(c) && c.get("name") === clusterName)
    : -1;
  if (index < 0)
    throw new PromfleetError(`cluster ${clusterName} is not in the fleet spec`, ExitCode.badInput);
  doc.setIn(["clusters", index, "credential", "passwordHash"], hash);
}
