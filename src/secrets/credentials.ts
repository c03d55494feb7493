import { randomBytes } from "node:crypto";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import { CREDENTIALS_FILE, CLUSTERS_DIR } from "../render/render.js";
import { CREDENTIALS_OVERLAY_SECRET, CREDENTIALS_SECRET } from "../render/package-overlay.js";
import { toYaml } from "../render/yaml-format.js";
import { encryptSecretManifest, findSops } from "./sops.js";

/** bcrypt cost; Prometheus' exporter-toolkit caches successful checks, so this costs once per client. */
const BCRYPT_COST = 10;
/** Where the external provider leaves a new password for the person to load into the cluster (gitignored). */
export const LOCAL_CREDENTIALS_DIR = ".promfleet/credentials";

export interface NewCredential {
  /** Never printed, logged or returned in --json output. */
  password: string;
  passwordHash: string;
}

/** 32 random bytes, base64url: safe in a URL's userinfo (the aggregator's reload webhook puts it there). */
export function newCredential(): NewCredential {
  const password = randomBytes(32).toString("base64url");
  return { password, passwordHash: bcrypt.hashSync(password, BCRYPT_COST) };
}

export interface StoredCredential {
  /** Repository-relative file written, if any. */
  file: string;
  /** What a person still has to do, as shell commands, without the password in them. */
  nextSteps: string[];
}

/**
 * Puts a cluster's new password where its Prometheus will read it, never in Git in plaintext:
 * sops — an encrypted manifest in the cluster's folder that its delivery decrypts; external — a 0600
 * file under .promfleet/ (gitignored) and the kubectl command that creates the Secret from it.
 */
export async function storeCredential(
  spec: FleetSpec,
  cluster: ClusterSpec,
  password: string,
): Promise<StoredCredential> {
  if (spec.secrets.provider === "sops") return storeWithSops(spec, cluster, password);
  return storeForOutOfBand(spec, cluster, password);
}

async function storeWithSops(
  spec: FleetSpec,
  cluster: ClusterSpec,
  password: string,
): Promise<StoredCredential> {
  const encrypted = await encryptSecretManifest(
    await findSops(),
    credentialsManifest(spec, password),
    spec.secrets.ageRecipients,
  );
  const file = `${CLUSTERS_DIR}/${cluster.name}/${CREDENTIALS_FILE}`;
  await writeAtomic(path.join(spec.root, file), encrypted, 0o644);
  return {
    file,
    nextSteps: [
      `# once per cluster, the age key that decrypts it:`,
      `kubectl -n ${spec.package.namespace} create secret generic sops-age --from-file=key.txt=<age key file>`,
    ],
  };
}

/** A Secret in the package namespace carrying a ytt document: the package creates promfleet-credentials. */
function credentialsManifest(spec: FleetSpec, password: string): string {
  const inner = toYaml({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: CREDENTIALS_SECRET, namespace: spec.package.monitoringNamespace },
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

async function storeForOutOfBand(
  spec: FleetSpec,
  cluster: ClusterSpec,
  password: string,
): Promise<StoredCredential> {
  const file = `${LOCAL_CREDENTIALS_DIR}/${cluster.name}.password`;
  await writeAtomic(path.join(spec.root, file), password, 0o600);
  return {
    file,
    nextSteps: [
      `kubectl --context ${cluster.name} -n ${spec.package.monitoringNamespace} create secret generic ${CREDENTIALS_SECRET} --from-file=password=${file}`,
      `rm ${file}`,
    ],
  };
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
