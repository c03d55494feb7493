/** The rotate-credential command: a new password for one cluster, overlapping the old one until --finish. */
import type { Command } from "commander";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { writeFile } from "../layout/file-change.js";
import { recoverInterrupted } from "../layout/transaction.js";
import { credentialFile, type CredentialFiles } from "../secrets/credentials.js";
import { finishRotation, planEnrollment } from "../secrets/enroll.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput } from "../util/output.js";
import { action } from "./action.js";
import { applyInWorkingTree, planFiles, readSpec, type SpecSource } from "./cluster-change.js";

/** What happens to the old password, and why no pod restarts (see README, "Rotating a credential"). */
const rolloutNote = (cluster: string) =>
  "no pod restarts: Prometheus re-reads its password file and web config on every request, and the " +
  "aggregator's reloader holds no credential; the aggregator accepts the old and the new credential " +
  `until you run \`promfleet rotate-credential ${cluster} --finish\` after ${cluster} has rolled out`;

/** promfleet rotate-credential <cluster>: a new password for one cluster; the old one is revoked on rollout. */
export function registerCredentialCommands(program: Command): void {
  program
    .command("rotate-credential")
    .argument(
      "<cluster>",
      "cluster whose remote-write (or, for the aggregator, self-scrape) credential to replace",
    )
    .description(
      "give a cluster a new credential: hash into fleet.yaml, password encrypted or handed out, then render",
    )
    .option("--dry-run", "say what would change; write nothing")
    .option("--finish", "after the cluster has rolled out: stop accepting its previous credential")
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<{ json?: boolean; dryRun?: boolean; finish?: boolean }>(async (o, args) => {
        const out = createOutput(Boolean(o.json));
        if (!o.dryRun && (await recoverInterrupted(o.dir)))
          out.info("finished the file moves of an interrupted render");
        const source = await readSpec(o.dir, o.fleet);
        const cluster = rotatable(source.before, args[0] as string);
        if (o.finish && !o.dryRun) {
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
          return ExitCode.ok;
        }
        const spec = source.before;
        const enrollment = await planEnrollment(spec, cluster, source.text);
        const file = credentialFile(enrollment.files);
        if (o.dryRun) {
          out.info(
            `dry run, nothing written: a new credential for ${cluster.name} would put its hash in ${spec.file}`,
          );
          out.info(
            `and its password in ${file}, then re-render ${cluster.name} and the aggregator's web config`,
          );
          out.result({ cluster: cluster.name, dryRun: true, spec: spec.file, file }, "");
          return ExitCode.ok;
        }
        const rendered = await applySpecChange(source, cluster.name, enrollment.specText, enrollment.files);
        const { nextSteps } = enrollment.files;
        out.info(`new credential for ${cluster.name}: hash in ${spec.file}, password in ${file}`);
        for (const step of nextSteps) out.info(`  ${step}`);
        out.info(rolloutNote(cluster.name));
        out.result(
          { cluster: cluster.name, file, nextSteps, rendered },
          rendered.map((f) => `~ ${f}`).join("\n"),
        );
        return ExitCode.ok;
      }),
    );
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
  await applyInWorkingTree(source.root, { changes: planned.changes, local: asChanges(files?.local) });
  return planned.rendered;
}
