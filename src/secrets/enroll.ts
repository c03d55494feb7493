import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { setPasswordHash } from "../fleet/edit.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFileAtomic } from "../util/atomic-write.js";
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
  await writeFileAtomic(specPath, doc.toString());
  return stored;
}
