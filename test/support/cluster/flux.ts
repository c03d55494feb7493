/**
 * Flux's source-controller and kustomize-controller v1.9.6 out of cluster, against one control plane:
 * every CRD of both (copied by scripts/install-cluster-tools.sh from the modules they were built from),
 * the flux-system namespace a Flux install creates, and the two controllers with their storage, metrics
 * and health endpoints on 127.0.0.1. source-controller trusts the test CA for the git server through
 * SSL_CERT_FILE (in a cluster: the CA in the node's trust store, or `ca.crt` in the GitRepository's Secret).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { freePort, PrometheusProcess as BoundedProcess } from "../e2e/prometheus-process.js";
import { MAX_LIFETIME_SECONDS, type ControlPlane } from "./control-plane.js";
import { clusterBinary, clusterCrdDir } from "./tools.js";

export const FLUX_NAMESPACE = "flux-system";

export interface Flux {
  stop(): Promise<void>;
}

async function controller(
  plane: ControlPlane,
  dir: string,
  name: "source-controller" | "kustomize-controller",
  args: string[],
  env: Record<string, string>,
): Promise<BoundedProcess> {
  const health = await freePort();
  await mkdir(dir, { recursive: true });
  const process = new BoundedProcess({
    name: `${plane.name}-${name}`,
    dir,
    binary: "/usr/bin/env",
    args: [
      "-i",
      ...Object.entries({
        KUBECONFIG: plane.kubeconfig,
        RUNTIME_NAMESPACE: FLUX_NAMESPACE,
        HOME: dir,
        ...env,
      }).map(([k, v]) => `${k}=${v}`),
      clusterBinary(name),
      `--health-addr=127.0.0.1:${health}`,
      `--metrics-addr=127.0.0.1:${await freePort()}`,
      "--log-level=debug",
      ...args,
    ],
    port: health,
    maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    readyTimeoutMs: 60_000,
    isReady: async () => (await fetch(`http://127.0.0.1:${health}/readyz`)).ok,
  });
  await process.start();
  return process;
}

export async function startFlux(plane: ControlPlane, dir: string, gitCaFile: string): Promise<Flux> {
  await plane.kubectl(["create", "-f", clusterCrdDir()]);
  // the controllers map every kind at start and exit if one is not served yet
  await plane.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", clusterCrdDir()]);
  await plane.kubectl(["create", "namespace", FLUX_NAMESPACE]);
  const storage = await freePort();
  await mkdir(path.join(dir, "storage"), { recursive: true });
  const started: BoundedProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop(5_000);
  };
  try {
    started.push(
      await controller(
        plane,
        path.join(dir, "source-controller"),
        "source-controller",
        [
          `--storage-path=${path.join(dir, "storage")}`,
          `--storage-addr=127.0.0.1:${storage}`,
          `--storage-adv-addr=127.0.0.1:${storage}`,
        ],
        { SSL_CERT_FILE: gitCaFile },
      ),
    );
    started.push(
      await controller(plane, path.join(dir, "kustomize-controller"), "kustomize-controller", [], {}),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}
