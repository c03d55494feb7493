/**
 * What bin/promfleet.js runs before it loads the CLI: a command that will likely hash a new password
 * (onboard-cluster run locally, rotate-credential but for --finish) starts hashing it on a worker thread
 * now, so that the hash overlaps loading the CLI too, not only the command's own work. A guess from argv
 * alone: the command takes the credential (newCredential), or main() stops it when none did, so a wrong
 * guess costs time only.
 */
import { commandName } from "./command-name.js";
import { startCredentialEarly } from "./secrets/credential-hash.js";

export function startEarly(argv: string[]): void {
  if (mayMintCredential(argv)) startCredentialEarly();
}

/** Whether the command line will likely mint a credential (a guess: see above). */
export function mayMintCredential(argv: string[]): boolean {
  const command = commandName(argv);
  if (command === "onboard-cluster") return !argv.includes("--pr");
  if (command === "rotate-credential") return !argv.includes("--finish") || argv.includes("--dry-run");
  return false;
}
