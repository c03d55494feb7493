/**
 * rotate-credential's work: a new password for one cluster, overlapping the old one until --finish (see
 * credentials.ts for the command's flags).
 */
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFile } from "../layout/file-change.js";
import { withRepoLock } from "../layout/repo-lock.js";
import { recoverInterrupted } from "../layout/transaction.js";
import type { NewCredential } from "../secrets/credential-hash.js";
import { credentialFile, type CredentialFiles } from "../secrets/credentials.js";
import { finishRotation, planEnrollment } from "../secrets/enroll.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import type { GlobalOptions } from "./action.js";
import { applyInWorkingTree, planFiles, readSpec, type SpecSource } from "./cluster-change.js";
import { endsRotation } from "./credentials.js";

export interface RotateOptions extends GlobalOptions {
  json?: boolean;
  dryRun?: boolean;
  finish?: boolean;
}

/** What happens to the old password, and why no pod restarts (see README, "Rotating a credential"). */
const rolloutNote = (cluster: string) =>
  "no pod restarts: Prometheus re-reads its password file and web config on every request, and the " +
  "aggregator's reloader holds no credential; the aggregator accepts the old and the new credential " +
  `until you run \`promfleet rotate-credential ${cluster} --finish\` after ${cluster} has rolled out`;

/**
 * Rotates `name`'s credential (or, with --finish, ends its rotation); `minted` is the new credential when
 * the caller started it (startNewCredential). Returns the exit code.
 */
export async function rotateCredential(
  o: RotateOptions,
  name: string,
  minted?: Promise<NewCredential>,
): Promise<number> {
  const out = createOutput(Boolean(o.json));
  const rotate = () => rotateIn(o, name, out, minted);
  return o.dryRun ? rotate() : withRepoLock(o.dir, "rotate-credential", rotate);
}

async function rotateIn(
  o: RotateOptions,
  name: string,
  out: Output,
  minted?: Promise<NewCredential>,
): Promise<number> {
  if (!o.dryRun && (await recoverInterrupted(o.dir)))
    out.info("finished the file moves of an interrupted render");
  const source = await readSpec(o.dir, o.fleet);
  const cluster = rotatable(source.before, name);
  if (endsRotation(o)) await finish(source, cluster, out);
  else await enroll(source, cluster, Boolean(o.dryRun), out, minted);
  return ExitCode.ok;
}

/** --finish: the aggregator stops accepting the previous credential. */
async function finish(source: SpecSource, cluster: ClusterSpec, out: Output): Promise<void> {
  const specAfter = finishRotation(cluster, source.text);
  out.info(
    specAfter
      ? `${cluster.name}'s previous credential is no longer accepted once the aggregator rolls out`
      : `no rotation of ${cluster.name}'s credential is rolling out; nothing to finish`,
  );
  const rendered = await applySpecChange(source, cluster.name, specAfter ?? source.text);
  out.result(
    { cluster: cluster.name, finished: specAfter !== undefined, rendered },
    rendered.map((f) => `~ ${f}`).join("\n"),
  );
}

/** A new credential: its hash in the spec, its password where the cluster reads it, then a render. */
async function enroll(
  source: SpecSource,
  cluster: ClusterSpec,
  dryRun: boolean,
  out: Output,
  minted?: Promise<NewCredential>,
): Promise<void> {
  const spec = source.before;
  const enrollment = await planEnrollment(spec, cluster, source.text, minted);
  const file = credentialFile(enrollment.files);
  if (dryRun) {
    out.info(
      `dry run, nothing written: a new credential for ${cluster.name} would put its hash in ${spec.file}`,
    );
    out.info(`and its password in ${file}, then re-render ${cluster.name} and the aggregator's web config`);
    out.result({ cluster: cluster.name, dryRun: true, spec: spec.file, file }, "");
    return;
  }
  const rendered = await applySpecChange(source, cluster.name, enrollment.specText, enrollment.files);
  const { nextSteps } = enrollment.files;
  out.info(`new credential for ${cluster.name}: hash in ${spec.file}, password in ${file}`);
  for (const step of nextSteps) out.info(`  ${step}`);
  out.info(rolloutNote(cluster.name));
  out.result({ cluster: cluster.name, file, nextSteps, rendered }, rendered.map((f) => `~ ${f}`).join("\n"));
}

/** The named cluster, when the fleet authenticates writes; exit 2 otherwise. */
function rotatable(spec: FleetSpec, name: string): ClusterSpec {
  const cluster = spec.clusters.find((c) => c.name === name);
  if (!cluster)
    throw new PromfleetError(`cluster ${name} is not in ${spec.file}`, ExitCode.badInput, [
      {
        file: spec.file,
        path: "clusters",
        message: `no cluster named ${name}`,
        fix: "check the name, or onboard it first",
      },
    ]);
  if (spec.remoteWrite.auth !== "basic")
    throw new PromfleetError(
      "remoteWrite.auth is none: clusters have no credentials to rotate",
      ExitCode.badInput,
      [
        {
          file: spec.file,
          path: "remoteWrite.auth",
          message: "authentication is off",
          fix: "remove `auth: none` (basic is the default)",
        },
      ],
    );
  return cluster;
}

/**
 * Writes the new spec, the credential's files and the clusters it touches rendered again (the cluster,
 * and the aggregator whose web config lists the hashes): the password file first (0600, this machine
 * only), then the rest in one journaled apply. Returns the rendered files written.
 */
async function applySpecChange(
  source: SpecSource,
  cluster: string,
  specAfter: string,
  files?: CredentialFiles,
): Promise<string[]> {
  const asChanges = (m: Map<string, string> | undefined) =>
    [...(m ?? [])].map(([rel, content]) => writeFile(rel, content));
  const planned = await planFiles(source, specAfter, asChanges(files?.repo), undefined, [cluster]);
  await applyInWorkingTree(source.root, {
    changes: planned.changes,
    local: asChanges(files?.local),
    specFile: source.file,
    specAfter,
  });
  return planned.rendered;
}
