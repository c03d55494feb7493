/** Every promfleet command, in the order `promfleet --help` lists them. */
export const COMMANDS = [
  "render",
  "init",
  "onboard-cluster",
  "offboard-cluster",
  "rotate-credential",
  "validate",
  "diff",
  "verify",
  "pr-comment",
  "record-deployments",
  "fix-drift",
  "rollout",
];
