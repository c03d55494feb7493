/**
 * The rotate-credential command's flags. Its work (rotate.ts) is imported when it runs, after the new
 * credential started hashing on a worker thread, so that the hashing overlaps the loading.
 */
import type { Command } from "commander";
import { newCredential } from "../secrets/credential-hash.js";
import { preloadYttRunner } from "../ytt/ytt.js";
import { action } from "./action.js";
import type { RotateOptions } from "./rotate.js";

/** Whether the run ends a rotation (--finish), which mints no credential; a dry run plans a new one. */
export function endsRotation(o: RotateOptions): boolean {
  return Boolean(o.finish && !o.dryRun);
}

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
      action<RotateOptions>(async (o, args) => {
        const pending = endsRotation(o) ? undefined : newCredential();
        if (pending) preloadYttRunner();
        try {
          const { rotateCredential } = await import("./rotate.js");
          return await rotateCredential(o, args[0] as string, pending?.credential);
        } finally {
          pending?.discard();
        }
      }),
    );
}
