/**
 * The onboard-cluster and offboard-cluster commands: flags to a planner, then the shared applier. The
 * planners and the applier are imported when a command runs, after onboarding started hashing its new
 * credential on a worker thread, so that the hashing overlaps their loading.
 */
import type { Command } from "commander";
import { newCredential } from "../secrets/credential-hash.js";
import { preloadYttRunner } from "../ytt/ytt.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput } from "../util/output.js";
import { action } from "./action.js";
import type { ChangeOptions } from "./cluster-change.js";
import { collect } from "../util/cli-options.js";

function withChangeOptions(cmd: Command): Command {
  return cmd
    .option("--pr", "commit the change to a branch and open (or update) one GitHub pull request")
    .option("--repo <owner/name>", "GitHub repository (default: the origin remote, then the spec's git.url)")
    .option("--base <branch>", "base branch of the pull request (default: the spec's git.branch)")
    .option("--dry-run", "show what would change, write nothing")
    .option("--json", "print the result as JSON on stdout");
}

export function registerClusterCommands(program: Command): void {
  withChangeOptions(
    program
      .command("onboard-cluster")
      .argument("<name>", "the new cluster's name (a DNS-1123 label; it becomes its cluster label)")
      .description(
        "add an agent cluster to the fleet: spec, rendered folder, credential; with --pr, one pull request",
      )
      .option(
        "--role <role>",
        "role of the new cluster (the fleet has one aggregator; new clusters are agents)",
        "agent",
      )
      .option("--overlay <file>", "a per-cluster ytt overlay, repository-relative (repeatable)", collect, [])
      .option(
        "--set <key=value>",
        "a package value for this cluster, e.g. prometheus.pvc.storage=2Gi (repeatable)",
        collect,
        [],
      )
      .option(
        "--age-recipient <key>",
        "SOPS: this cluster's own age public key; its credential is encrypted to it and the administrators' keys",
      ),
  ).action(
    action<ChangeOptions & { role: string; overlay: string[]; set: string[]; ageRecipient?: string }>(
      async (o, args) => {
        if (o.role !== "agent")
          throw new PromfleetError(
            `--role ${o.role}: onboard-cluster adds agents; the aggregator is set in the spec`,
            ExitCode.badInput,
          );
        // a pull request may keep its open credential (planPull): only a local run surely mints one
        const pending = o.pr ? undefined : newCredential();
        if (pending) preloadYttRunner();
        try {
          const [{ parseSetFlags }, { onboardCommand }, { runClusterChange }] = await Promise.all([
            import("../fleet/edit.js"),
            import("./onboard.js"),
            import("./cluster-change.js"),
          ]);
          const request = {
            name: args[0] as string,
            role: "agent" as const,
            overlays: o.overlay,
            values: parseSetFlags(o.set),
            ageRecipient: o.ageRecipient,
          };
          const command = onboardCommand(request, pending && (() => pending.credential));
          return await runClusterChange(o, command, createOutput(Boolean(o.json)));
        } finally {
          pending?.discard();
        }
      },
    ),
  );

  withChangeOptions(
    program
      .command("offboard-cluster")
      .argument("<name>", "the cluster to remove")
      .description(
        "remove a cluster from the fleet: spec, folder, credential; with --pr, one reviewable pull request",
      ),
  ).action(
    action<ChangeOptions>(async (o, args) => {
      const [{ offboardCommand }, { runClusterChange }] = await Promise.all([
        import("./offboard.js"),
        import("./cluster-change.js"),
      ]);
      return runClusterChange(o, offboardCommand(args[0] as string), createOutput(Boolean(o.json)));
    }),
  );
}
