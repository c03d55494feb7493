/**
 * One simulated cluster's control plane on loopback: Debian's etcd and a real kube-apiserver (RBAC,
 * service-account tokens, the aggregation layer), each in its own process group with a bounded
 * lifetime. No kubelet, scheduler or controller-manager runs (see kubelet.ts for the stand-in).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import path from "node:path";
import { execa } from "execa";
import YAML from "yaml";
import { freePort, PrometheusProcess as BoundedProcess } from "../e2e/prometheus-process.js";
import { issueCert, caPair, frontProxyPair, type CertPair, type Pki } from "./certs.js";
import { clusterBinary } from "./tools.js";

/** Every process of the harness dies after this, whatever happens to the test runner. */
export const MAX_LIFETIME_SECONDS = 900;

export interface ControlPlane {
  name: string;
  port: number;
  /** https://127.0.0.1:<port> */
  server: string;
  /** A kubeconfig with one context, named after the cluster, for the admin (system:masters). */
  kubeconfig: string;
  admin: CertPair;
  kubectl(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function getJson(plane: ControlPlane, pki: Pki, apiPath: string): Promise<unknown> {
  const [cert, key] = await Promise.all([readFile(plane.admin.cert), readFile(plane.admin.key)]);
  return new Promise((resolve, reject) => {
    const req = https.get(`${plane.server}${apiPath}`, { ca: pki.caPem, cert, key, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(body.startsWith("{") ? JSON.parse(body) : body)
          : reject(new Error(body)),
      );
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

async function startEtcd(dir: string): Promise<{ process: BoundedProcess; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  await mkdir(dir, { recursive: true });
  const etcd = new BoundedProcess({
    name: "etcd",
    dir,
    binary: "/usr/bin/etcd",
    port: client,
    maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    args: [
      `--data-dir=${path.join(dir, "data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      "--listen-metrics-urls=",
    ],
    isReady: async () => (await fetch(`${url}/health`)).ok,
  });
  await etcd.start();
  return { process: etcd, url };
}

function kubeconfigYaml(planes: Array<{ name: string; server: string; admin: CertPair }>, pki: Pki): string {
  return YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: planes.map((p) => ({
      name: p.name,
      cluster: { server: p.server, "certificate-authority": pki.ca },
    })),
    users: planes.map((p) => ({
      name: `${p.name}-admin`,
      user: { "client-certificate": p.admin.cert, "client-key": p.admin.key },
    })),
    contexts: planes.map((p) => ({ name: p.name, context: { cluster: p.name, user: `${p.name}-admin` } })),
    "current-context": planes[0]?.name ?? "",
  });
}

/** One kubeconfig holding every cluster as a context named after it, as an operator's would. */
export async function writeFleetKubeconfig(file: string, planes: ControlPlane[], pki: Pki): Promise<void> {
  await writeFile(file, kubeconfigYaml(planes, pki));
}

export async function startControlPlane(name: string, root: string, pki: Pki): Promise<ControlPlane> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  const etcd = await startEtcd(path.join(dir, "etcd"));
  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const serving = await issueCert(pki.dir, caPair(pki), `${name}-apiserver`, "/CN=kube-apiserver", [
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes.default.svc",
  ]);
  const admin = await issueCert(pki.dir, caPair(pki), `${name}-admin`, "/O=system:masters/CN=admin");
  const proxy = await issueCert(
    pki.dir,
    frontProxyPair(pki),
    `${name}-front-proxy`,
    "/CN=front-proxy-client",
  );
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml([{ name, server, admin }], pki));
  const apiDir = path.join(dir, "kube-apiserver");
  await mkdir(apiDir, { recursive: true });
  const apiserver = new BoundedProcess({
    name: `${name}-kube-apiserver`,
    dir: apiDir,
    binary: clusterBinary("kube-apiserver"),
    port,
    maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    readyTimeoutMs: 90_000,
    args: [
      `--etcd-servers=${etcd.url}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${pki.ca}`,
      "--authorization-mode=RBAC",
      "--endpoint-reconciler-type=none",
      "--service-cluster-ip-range=127.0.100.0/24",
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--requestheader-client-ca-file=${pki.frontProxyCa}`,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      `--proxy-client-cert-file=${proxy.cert}`,
      `--proxy-client-key-file=${proxy.key}`,
    ],
    isReady: async () => {
      try {
        return (await getJson(plane, pki, "/readyz")) === "ok";
      } catch {
        return false;
      }
    },
  });
  const kubectl = async (args: string[], input?: string) =>
    (await execa(clusterBinary("kubectl"), ["--kubeconfig", kubeconfig, ...args], { input, timeout: 60_000 }))
      .stdout;
  const plane: ControlPlane = {
    name,
    port,
    server,
    kubeconfig,
    admin,
    kubectl,
    stop: async () => {
      await apiserver.stop(5_000);
      await etcd.process.stop(5_000);
    },
  };
  try {
    await apiserver.start();
  } catch (e) {
    await plane.stop();
    throw e;
  }
  return plane;
}
