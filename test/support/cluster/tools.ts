/**
 * Where the rollout harness finds its binaries: the control plane built by
 * scripts/install-cluster-tools.sh (kube-apiserver, kubectl, kapp-controller, kapp, vendir, Flux),
 * Debian's etcd and Prometheus, ytt/sops/age from scripts/install-tools.sh, and git, openssl, unshare.
 */
import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { repoRoot } from "../../helpers/fleet-repo.js";
import { prometheusBinary } from "../e2e/env.js";

export const CLUSTER_BINARIES = [
  "kube-apiserver",
  "kubectl",
  "kapp-controller",
  "kapp",
  "vendir",
  "source-controller",
  "kustomize-controller",
] as const;
export type ClusterBinary = (typeof CLUSTER_BINARIES)[number];

const SYSTEM_BINARIES = ["/usr/bin/etcd", "/usr/bin/git", "/usr/bin/openssl", "/usr/bin/unshare"];
const TOOLS_BIN = path.join(repoRoot, ".tools", "bin");

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let binDir: string | undefined;
/** The folder the build script puts this commit's pins into (asked from the script: it owns the hash). */
export function clusterBinDir(): string {
  binDir ??= execFileSync(
    "bash",
    [path.join(repoRoot, "scripts", "install-cluster-tools.sh"), "--print-bin-dir"],
    {
      encoding: "utf8",
    },
  ).trim();
  return binDir;
}

export const clusterBinary = (name: ClusterBinary): string => path.join(clusterBinDir(), name);
export const toolBinary = (name: string): string => path.join(TOOLS_BIN, name);

/** PATH for kapp-controller's sidecar: kapp, vendir, ytt, sops, age and git. */
export function controllerPath(): string {
  return [clusterBinDir(), TOOLS_BIN, "/usr/bin", "/bin"].join(path.delimiter);
}

/** Why the rollout tests cannot run on this machine, or undefined when they can. */
export function clusterSkipReason(): string | undefined {
  if (process.getuid?.() !== 0)
    return "rollout tests need root: kapp-controller runs in a private mount namespace (unshare -m)";
  const missing = CLUSTER_BINARIES.filter((b) => !executable(clusterBinary(b)));
  if (missing.length > 0)
    return `rollout tests need ${missing.join(", ")} in ${clusterBinDir()}: run bash scripts/install-cluster-tools.sh`;
  if (!existsSync(path.join(clusterCrdDir(), "source.toolkit.fluxcd.io_gitrepositories.yaml")))
    return `rollout tests need the Flux CRDs in ${clusterCrdDir()}: run bash scripts/install-cluster-tools.sh`;
  const system = [...SYSTEM_BINARIES, prometheusBinary()].find((b) => !executable(b));
  if (system)
    return `rollout tests need ${system} (apt-get install etcd-server prometheus git openssl util-linux)`;
  const tool = ["ytt", "sops", "age"].find((t) => !executable(toolBinary(t)));
  if (tool) return `rollout tests need ${toolBinary(tool)}: run bash scripts/install-tools.sh`;
  return undefined;
}

/** Every CRD of the Flux controllers, beside the binaries (see scripts/install-cluster-tools.sh). */
export const clusterCrdDir = (): string => path.join(path.dirname(clusterBinDir()), "crds");
