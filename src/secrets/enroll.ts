import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { setPasswordHash } from "../fleet/edit.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import {
  credentialFile,
  credentialFiles,
  newCredential,
  writeCredentialFiles,
  type CredentialFiles,
  type StoredCredential,
} from "./credentials.js";

/** A new credential for one cluster, planned in memory: the edited spec text and the credential's files. */
export interface Enrollment {
  specText: string;
  files: CredentialFiles;
}

/**
 * Gives a cluster a new credential: its bcrypt hash goes into the fleet spec (comments and formatting
 * kept), the password where the cluster's Prometheus reads it (see credentialFiles). Nothing is written.
 */
export async function planEnrollment(spec: FleetSpec, cluster: ClusterSpec): Promise<Enrollment> {
  const credential = newCredential();
  const doc = parseDocument(await readFile(path.join(spec.root, spec.file), "utf8"));
  setPasswordHash(doc, cluster.name, credential.passwordHash);
  const files = await credentialFiles(spec, cluster, credential.password);
  return { specText: doc.toString(), files };
}

/** Writes a planned enrollment: the credential's files first, the spec that refers to them last. */
export async function applyEnrollment(spec: FleetSpec, enrollment: Enrollment): Promise<StoredCredential> {
  await writeCredentialFiles(enrollment.files, spec.root);
  await writeFileAtomic(path.join(spec.root, spec.file), enrollment.specText);
  return { file: credentialFile(enrollment.files), nextSteps: enrollment.files.nextSteps };
}

export async function enrollCluster(spec: FleetSpec, cluster: ClusterSpec): Promise<StoredCredential> {
  return applyEnrollment(spec, await planEnrollment(spec, cluster));
}
