/**
 * kapp-controller v0.53.1 out of cluster, against one control plane: its CRDs from the vendored
 * fixture, its aggregated API (data.packaging.carvel.dev, which serves Package and PackageMetadata and
 * cannot be turned off) behind an APIService whose Service is `type: ExternalName` → localhost, and the
 * two processes of its pod (`--sidecarexec` and the controller) in one private mount namespace
 * (`unshare -m`) where tmpfs mounts provide its hard-coded in-cluster paths:
 * /var/run/secrets/kubernetes.io/serviceaccount (a token of its ServiceAccount) and /home/kapp-controller.
 * The sidecar trusts the test CA for git over https through GIT_SSL_CAINFO (in a cluster: the
 * kapp-controller-config Secret's caCerts, which the sidecar adds to the system trust store).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fixturesDir } from "../../helpers/fleet-repo.js";
import { freePort, PrometheusProcess as BoundedProcess } from "../e2e/prometheus-process.js";
import { getJson, MAX_LIFETIME_SECONDS, type ControlPlane } from "./control-plane.js";
import type { Pki } from "./certs.js";
import { clusterBinary, controllerPath } from "./tools.js";

export const KAPP_CONTROLLER_NAMESPACE = "kapp-controller";
import { GLOBAL_PACKAGING_NAMESPACE } from "./package-repository.js";
const API_SERVICE = "v1alpha1.data.packaging.carvel.dev";

function systemObjects(apiPort: number): string {
  const ns = KAPP_CONTROLLER_NAMESPACE;
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Namespace
metadata: { name: ${GLOBAL_PACKAGING_NAMESPACE} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: kapp-controller-sa, namespace: ${ns} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: kapp-controller-cluster-admin }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ kind: ServiceAccount, name: kapp-controller-sa, namespace: ${ns} }]
---
# kapp-controller's own configuration (a cluster operator's setting, not promfleet's): kapp checks what it
# waits on every 1s instead of its default 3s. Every wait stays; each ends up to 2s sooner.
apiVersion: v1
kind: Secret
metadata: { name: kapp-controller-config, namespace: ${ns} }
stringData:
  kappDeployRawOptions: '["--wait-check-interval=1s"]'
---
apiVersion: v1
kind: Service
metadata: { name: packaging-api, namespace: ${ns} }
spec:
  type: ExternalName
  externalName: localhost
  ports: [{ name: main, port: ${apiPort}, protocol: TCP }]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: ${API_SERVICE} }
spec:
  group: data.packaging.carvel.dev
  version: v1alpha1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: { name: packaging-api, namespace: ${ns}, port: ${apiPort} }
`;
}

/** The pod, as a script run inside `unshare -m`: mounts, then the sidecar in the background and the controller. */
function podScript(secretsDir: string): string {
  return [
    "set -eu",
    "mount --make-rprivate /",
    "mount -t tmpfs -o size=16m tmpfs /run",
    "sa=/var/run/secrets/kubernetes.io/serviceaccount",
    'mkdir -p "$sa"',
    `cp ${secretsDir}/token ${secretsDir}/ca.crt ${secretsDir}/namespace "$sa"/`,
    "mount -t tmpfs -o size=256m tmpfs /home",
    "mkdir -p /home/kapp-controller",
    'env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT "$KC_BINARY" --sidecarexec &',
    'exec "$KC_BINARY" --enable-api-priority-and-fairness=false --metrics-bind-address=0 ' +
      `--packaging-global-namespace=${GLOBAL_PACKAGING_NAMESPACE}`,
  ].join("\n");
}

export interface KappController {
  stop(): Promise<void>;
}

export async function startKappController(
  plane: ControlPlane,
  pki: Pki,
  dir: string,
  gitCaFile: string,
  shortDir: string,
): Promise<KappController> {
  await mkdir(dir, { recursive: true });
  const apiPort = await freePort();
  await plane.kubectl(["create", "-f", path.join(fixturesDir, "crds", "kapp-controller-v0.53-crds.yml")]);
  await plane.kubectl(["apply", "-f", "-"], systemObjects(apiPort));
  const secretsDir = path.join(dir, "serviceaccount");
  // a unix socket path must stay under 108 bytes: the memory dir is short, beside the cluster folders
  const memDir = path.join(shortDir, `kc-${plane.name}`);
  await mkdir(secretsDir, { recursive: true });
  await mkdir(memDir, { recursive: true });
  const token = await plane.kubectl([
    "-n",
    KAPP_CONTROLLER_NAMESPACE,
    "create",
    "token",
    "kapp-controller-sa",
    "--duration=2h",
  ]);
  await writeFile(path.join(secretsDir, "token"), token);
  await writeFile(path.join(secretsDir, "ca.crt"), pki.caPem);
  await writeFile(path.join(secretsDir, "namespace"), KAPP_CONTROLLER_NAMESPACE);
  const env = {
    PATH: controllerPath(),
    HOME: "/home/kapp-controller",
    KC_BINARY: clusterBinary("kapp-controller"),
    KUBECONFIG: plane.kubeconfig,
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String(plane.port),
    KAPPCTRL_KUBERNETES_CA_DATA: pki.caPem,
    KAPPCTRL_SIDECAREXEC_SOCK: path.join(memDir, "sidecarexec.sock"),
    KAPPCTRL_MEM_TMP_DIR: memDir,
    KAPPCTRL_SYSTEM_NAMESPACE: KAPP_CONTROLLER_NAMESPACE,
    KAPPCTRL_API_PORT: String(apiPort),
    GIT_SSL_CAINFO: gitCaFile,
  };
  const pod = new BoundedProcess({
    name: `${plane.name}-kapp-controller`,
    dir,
    // a clean environment: exactly what the pod's containers get
    binary: "/usr/bin/env",
    args: [
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      "/usr/bin/unshare",
      "-m",
      "--",
      "/bin/sh",
      "-c",
      podScript(secretsDir),
    ],
    port: apiPort,
    maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    readyTimeoutMs: 90_000,
    // polled every 150ms: an https GET, not a kubectl process each time
    isReady: async () => {
      try {
        const service = (await getJson(
          plane,
          pki,
          `/apis/apiregistration.k8s.io/v1/apiservices/${API_SERVICE}`,
        )) as {
          status?: { conditions?: Array<{ type: string; status: string }> };
        };
        return (
          service.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") === true
        );
      } catch {
        return false;
      }
    },
  });
  await pod.start();
  return { stop: () => pod.stop(5_000) };
}
