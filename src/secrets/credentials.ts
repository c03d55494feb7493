/**
 * Per-cluster credentials: generation, where the password goes (SOPS file or local file) and the steps a
 * person runs.
 */
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { CREDENTIALS_FILE, CLUSTERS_DIR } from "../layout/names.js";
import { CREDENTIALS_OVERLAY_SECRET, credentialSlot } from "../render/package-overlay.js";
import { SOPS_AGE_SECRET } from "../render/resources.js";
import { toYaml } from "../render/yaml-format.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { BCRYPT_COST, bcryptLibrary, newPassword, type NewCredential } from "./credential-hash.js";
import { encryptSecretManifest, findSops } from "./sops.js";

export type { NewCredential } from "./credential-hash.js";

/** Where the external provider leaves a new password for the person to load into the cluster (gitignored). */
export const LOCAL_CREDENTIALS_DIR = ".promfleet/credentials";

/** A new password and its hash, hashed on this thread (a command starts one on a worker: startNewCredential). */
export function newCredential(): NewCredential {
  const password = newPassword();
  return { password, passwordHash: bcryptLibrary().hashSync(password, BCRYPT_COST) };
}

export interface StoredCredential {
  /** Repository-relative file written. */
  file: string;
  /** What a person still has to do, as shell commands, without the password in them. */
  nextSteps: string[];
}

export interface CredentialFiles {
  /** Files that belong in the repository (committed): the SOPS-encrypted credential. */
  repo: Map<string, string>;
  /** Files for this machine only (git-ignored, mode 0600): a password to load by hand. */
  local: Map<string, string>;
  nextSteps: string[];
}

/**
 * Where a cluster's new password goes, never into Git in plaintext: sops — an encrypted manifest in the
 * cluster's folder that its delivery decrypts; external — a 0600 file under .promfleet/ (git-ignored)
 * and the kubectl command that creates the Secret from it.
 */
export async function credentialFiles(
  spec: FleetSpec,
  cluster: ClusterSpec,
  password: string,
): Promise<CredentialFiles> {
  const nextSteps = credentialNextSteps(spec, cluster);
  if (spec.secrets.provider === "sops") {
    const manifest = credentialsManifest(spec, cluster, password);
    const encrypted = await encryptSecretManifest(await findSops(), manifest, sopsRecipients(spec, cluster));
    return { repo: new Map([[credentialsPath(cluster.name), encrypted]]), local: new Map(), nextSteps };
  }
  return { repo: new Map(), local: new Map([[localPasswordPath(cluster.name), password]]), nextSteps };
}

/**
 * Who can decrypt a cluster's credential: that cluster (its own age key) and the administrators
 * (secrets.sops.ageRecipients), never another cluster, so one cluster's key opens only its own password.
 */
export function sopsRecipients(spec: FleetSpec, cluster: ClusterSpec): string[] {
  return [
    ...new Set([...(cluster.ageRecipient ? [cluster.ageRecipient] : []), ...spec.secrets.ageRecipients]),
  ];
}

/** `kubectl create` fails with AlreadyExists on a re-run or a rotation; rendered and applied, it updates. */
function kubectlApply(cluster: string, namespace: string, createArgs: string): string {
  return `kubectl --context ${cluster} -n ${namespace} create ${createArgs} --dry-run=client -o yaml | kubectl --context ${cluster} apply -f -`;
}

/**
 * Where the cluster's delivery reads the age key: kapp-controller's sops step from a Secret in the App's
 * namespace (every key of it); Flux's kustomize-controller from the Kustomization's namespace, and only
 * keys ending in .agekey. One key named age.agekey satisfies both.
 */
function ageKeyNamespace(spec: FleetSpec, cluster: ClusterSpec): string {
  return cluster.delivery === "flux" ? spec.flux.namespace : spec.package.namespace;
}

/** What a person does with a new credential, without the password in it. */
export function credentialNextSteps(spec: FleetSpec, cluster: ClusterSpec): string[] {
  if (spec.secrets.provider === "sops")
    return [
      cluster.ageRecipient
        ? `# once per cluster, ${cluster.name}'s own age key (the private key of ${cluster.ageRecipient}):`
        : `# ${cluster.name} has no ageRecipient: its credential is encrypted to the administrators' keys only, so this would put an administrator's key on the cluster; set clusters[].ageRecipient`,
      kubectlApply(
        cluster.name,
        ageKeyNamespace(spec, cluster),
        `secret generic ${SOPS_AGE_SECRET} --from-file=age.agekey=<age key file>`,
      ),
    ];
  const file = localPasswordPath(cluster.name);
  return [
    kubectlApply(
      cluster.name,
      spec.package.monitoringNamespace,
      `secret generic ${credentialSlot(cluster.name, cluster.credentialGeneration).secret} --from-file=password=${file}`,
    ),
    `rm ${file}`,
  ];
}

function localPasswordPath(cluster: string): string {
  return `${LOCAL_CREDENTIALS_DIR}/${cluster}.password`;
}

export function credentialsPath(cluster: string): string {
  return `${CLUSTERS_DIR}/${cluster}/${CREDENTIALS_FILE}`;
}

/** Writes repository files into `root` and machine-only files (0600) into `localRoot`. */
export async function writeCredentialFiles(
  files: CredentialFiles,
  root: string,
  localRoot = root,
): Promise<void> {
  for (const [rel, content] of files.repo) await writeFileAtomic(path.join(root, rel), content, 0o644);
  for (const [rel, content] of files.local) await writeFileAtomic(path.join(localRoot, rel), content, 0o600);
}

export async function storeCredential(
  spec: FleetSpec,
  cluster: ClusterSpec,
  password: string,
): Promise<StoredCredential> {
  const files = await credentialFiles(spec, cluster, password);
  await writeCredentialFiles(files, spec.root);
  return { file: credentialFile(files), nextSteps: files.nextSteps };
}

/** The one file a new credential goes to: the encrypted manifest (sops) or the local password file. */
export function credentialFile(files: CredentialFiles): string {
  return [...files.repo.keys(), ...files.local.keys()][0] as string;
}

/** A Secret in the package namespace carrying a ytt document: the package creates the credential's Secret. */
function credentialsManifest(spec: FleetSpec, cluster: ClusterSpec, password: string): string {
  const name = credentialSlot(cluster.name, cluster.credentialGeneration).secret;
  const inner = toYaml({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: spec.package.monitoringNamespace },
    type: "Opaque",
    stringData: { password },
  });
  return toYaml({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CREDENTIALS_OVERLAY_SECRET, namespace: spec.package.namespace },
    type: "Opaque",
    stringData: { "promfleet-credentials.yaml": `---\n${inner}` },
  });
}
