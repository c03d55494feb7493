/** Enrolling a cluster's new credential in the spec (rotation with an overlap window, and its finish). */
import { setCredentialFields, type CredentialFields } from "../fleet/edit.js";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { credentialFiles, newCredential, type CredentialFiles, type NewCredential } from "./credentials.js";

/** A new credential for one cluster, planned in memory: the edited spec text and the credential's files. */
export interface Enrollment {
  specText: string;
  files: CredentialFiles;
}

/**
 * Gives a cluster a new credential: its bcrypt hash goes into the fleet spec's text `specText` (every
 * other line kept), the password where the cluster's Prometheus reads it (see credentialFiles).
 * Replacing an existing credential is a rotation: the next generation takes the other user name,
 * Secret and file, and the old hash stays accepted (previousPasswordHash) until finishRotation.
 * `minted`: the new credential, when the caller started it (startNewCredential). Nothing is written.
 */
export async function planEnrollment(
  spec: FleetSpec,
  cluster: ClusterSpec,
  specText: string,
  minted?: Promise<NewCredential>,
): Promise<Enrollment> {
  if (cluster.previousPasswordHash) throw rotationInProgress(spec, cluster);
  const credential = await (minted ?? newCredential());
  const next = cluster.passwordHash
    ? { ...cluster, credentialGeneration: cluster.credentialGeneration + 1 }
    : cluster;
  const fields: CredentialFields = { passwordHash: credential.passwordHash };
  if (cluster.passwordHash) {
    fields.generation = next.credentialGeneration;
    fields.previousPasswordHash = cluster.passwordHash;
  }
  const files = await credentialFiles(spec, next, credential.password);
  return { specText: setCredentialFields(specText, cluster.name, fields), files };
}

/**
 * The spec's text once a rotation ends (the aggregator stops accepting the previous credential), or
 * undefined when none is rolling out.
 */
export function finishRotation(cluster: ClusterSpec, specText: string): string | undefined {
  if (!cluster.previousPasswordHash) return undefined;
  return setCredentialFields(specText, cluster.name, { previousPasswordHash: null });
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
