/** Enrolling a cluster's new credential in the spec (rotation with an overlap window, and its finish). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { setCredentialField, setPasswordHash } from "../fleet/edit.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
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
 * kept), the password where the cluster's Prometheus reads it (see credentialFiles). Replacing an
 * existing credential is a rotation: the next generation takes the other user name, Secret and file,
 * and the old hash stays accepted (previousPasswordHash) until finishRotation. Nothing is written.
 */
export async function planEnrollment(spec: FleetSpec, cluster: ClusterSpec): Promise<Enrollment> {
  if (cluster.previousPasswordHash) throw rotationInProgress(spec, cluster);
  const credential = newCredential();
  const doc = await readSpec(spec);
  const next = cluster.passwordHash
    ? { ...cluster, credentialGeneration: cluster.credentialGeneration + 1 }
    : cluster;
  setPasswordHash(doc, cluster.name, credential.passwordHash);
  if (cluster.passwordHash) {
    setCredentialField(doc, cluster.name, "generation", next.credentialGeneration);
    setCredentialField(doc, cluster.name, "previousPasswordHash", cluster.passwordHash);
  }
  const files = await credentialFiles(spec, next, credential.password);
  return { specText: doc.toString(), files };
}

/** Ends a rotation: the aggregator stops accepting the previous credential. False when none is rolling out. */
export async function finishRotation(spec: FleetSpec, cluster: ClusterSpec): Promise<boolean> {
  if (!cluster.previousPasswordHash) return false;
  const doc = await readSpec(spec);
  setCredentialField(doc, cluster.name, "previousPasswordHash", undefined);
  await writeFileAtomic(path.join(spec.root, spec.file), doc.toString());
  return true;
}

async function readSpec(spec: FleetSpec) {
  return parseDocument(await readFile(path.join(spec.root, spec.file), "utf8"));
}

function rotationInProgress(spec: FleetSpec, cluster: ClusterSpec): PromfleetError {
  return new PromfleetError(
    `a rotation of ${cluster.name}'s credential is still rolling out`,
    ExitCode.badInput,
    [
      {
        file: spec.file,
        path: `clusters.${cluster.name}.credential.previousPasswordHash`,
        message: "the aggregator still accepts the previous credential",
        fix: `once ${cluster.name} has rolled out (promfleet verify shows it receiving), run: promfleet rotate-credential ${cluster.name} --finish`,
      },
    ],
  );
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
