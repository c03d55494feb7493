/** The rotate-credential command: a new password for one cluster, overlapping the old one until --finish. */
import type { Command } from "commander";
import { loadFleet } from "../fleet/load.js";
import { credentialFile } from "../secrets/credentials.js";
import { applyEnrollment, finishRotation, planEnrollment } from "../secrets/enroll.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput } from "../util/output.js";
import { action } from "./action.js";
import { renderTree } from "./render.js";

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
        const spec = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
        const cluster = spec.clusters.find((c) => c.name === args[0]);
        if (!cluster)
          throw new PromfleetError(`cluster ${args[0]} is not in ${spec.file}`, ExitCode.badInput, [
            {
              file: spec.file,
              path: "clusters",
              message: `no cluster named ${args[0]}`,
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
        if (o.finish && !o.dryRun) {
          const finished = await finishRotation(spec, cluster);
          out.info(
            finished
              ? `${cluster.name}'s previous credential is no longer accepted once the aggregator rolls out`
              : `no rotation of ${cluster.name}'s credential is rolling out; nothing to finish`,
          );
          const { summary } = await renderTree({ dir: o.dir, fleet: o.fleet }, out);
          const changed = [...summary.created, ...summary.updated];
          out.result(
            { cluster: cluster.name, finished, rendered: changed },
            changed.map((f) => `~ ${f}`).join("\n"),
          );
          return ExitCode.ok;
        }
        const enrollment = await planEnrollment(spec, cluster);
        if (o.dryRun) {
          const file = credentialFile(enrollment.files);
          out.info(
            `dry run, nothing written: a new credential for ${cluster.name} would put its hash in ${spec.file}`,
          );
          out.info(
            `and its password in ${file}, then re-render ${cluster.name} and the aggregator's web config`,
          );
          out.result({ cluster: cluster.name, dryRun: true, spec: spec.file, file }, "");
          return ExitCode.ok;
        }
        const stored = await applyEnrollment(spec, enrollment);
        out.info(`new credential for ${cluster.name}: hash in ${spec.file}, password in ${stored.file}`);
        for (const step of stored.nextSteps) out.info(`  ${step}`);
        out.info(rolloutNote(cluster.name));
        const { summary } = await renderTree({ dir: o.dir, fleet: o.fleet }, out);
        const changed = [...summary.created, ...summary.updated];
        out.result(
          { cluster: cluster.name, file: stored.file, nextSteps: stored.nextSteps, rendered: changed },
          changed.map((f) => `~ ${f}`).join("\n"),
        );
        return ExitCode.ok;
      }),
    );
}
