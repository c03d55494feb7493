/**
 * A fleet's worth of simulated clusters on loopback, for the rollout tests: one PKI, one https git
 * server (the fleet repository — the fake GitHub's bare repository — and the package bundle), and per
 * cluster a control plane, kapp-controller, the package repository stand-in, a kube-state-metrics
 * stand-in and the kubelet stand-in. `close()` stops every process and removes every folder; it is
 * meant for afterAll and never throws.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startKsmExporter, type KsmExporter } from "../e2e/ksm-exporter.js";
import { freePort } from "../e2e/prometheus-process.js";
import { issueCert, caPair, makePki, type Pki } from "./certs.js";
import { startControlPlane, writeFleetKubeconfig, type ControlPlane } from "./control-plane.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { startKappController, type KappController } from "./kapp-controller.js";
import { startFlux } from "./flux.js";
import { KubeClient } from "./kube-client.js";
import { KubeletStandIn } from "./kubelet.js";
import { timed } from "./wait.js";
import { createPackageRepo, ingressStackCrds, packageObjects } from "./package-repository.js";

export interface SimulatedCluster {
  name: string;
  plane: ControlPlane;
  kube: KubeClient;
  kubelet: KubeletStandIn;
  ksm: KsmExporter;
  kappController: KappController;
}

export const KSM_PODS = (cluster: string) => [
  { namespace: "kube-system", pod: `coredns-${cluster}` },
  { namespace: "kube-system", pod: `etcd-${cluster}` },
  { namespace: "tanzu-system-monitoring", pod: `prometheus-server-${cluster}` },
];

/** Like Promise.all, but waits for every promise, so nothing started is left unregistered for close(). */
async function settled<T extends unknown[]>(promises: [...T]): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as {
    [K in keyof T]: Awaited<T[K]>;
  };
}

type Closer = () => Promise<unknown> | unknown;

async function stopInReverse(closers: Closer[]): Promise<void> {
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch {
      /* keep stopping the rest */
    }
  }
}

export class World {
  readonly clusters = new Map<string, SimulatedCluster>();
  /** A kubeconfig with one context per cluster, named after it (what `kubectl --context <name>` uses). */
  readonly kubeconfig: string;
  /** The aggregator's Prometheus listens here (agents remote-write to it). */
  aggregatorPort = 0;
  private readonly closers: Closer[] = [];
  private readonly clusterClosers: Closer[][] = [];

  private constructor(
    readonly dir: string,
    readonly pki: Pki,
    readonly git: GitServer,
    readonly gitRoot: string,
  ) {
    this.kubeconfig = path.join(dir, "kubeconfig");
  }

  static async start(): Promise<World> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-rollout-"));
    const pkiDir = path.join(dir, "pki");
    const gitRoot = path.join(dir, "git");
    await mkdir(pkiDir);
    await mkdir(gitRoot);
    const pki = await makePki(pkiDir);
    const serving = await issueCert(pkiDir, caPair(pki), "git-server", "/CN=git-server", ["IP:127.0.0.1"]);
    const git = await startGitServer(gitRoot, serving);
    const world = new World(dir, pki, git, gitRoot);
    world.closers.push(() => git.close());
    world.aggregatorPort = await freePort();
    await createPackageRepo(gitRoot, dir);
    return world;
  }

  /** The fleet repository URL promfleet init is given: https on the local git server. */
  get fleetRepoUrl(): string {
    return `${this.git.url}/fleet.git`;
  }

  /** Serves `bareRepo` (the fake GitHub's) as the fleet repository: a merge there is what clusters pull. */
  async serveFleetRepo(bareRepo: string): Promise<void> {
    await symlink(bareRepo, path.join(this.gitRoot, "fleet.git"));
  }

  async addCluster(
    name: string,
    role: "aggregator" | "agent",
    packageVersion: string,
    opts: { flux?: boolean } = {},
  ): Promise<SimulatedCluster> {
    const [cluster] = await this.addClusters([{ name, role, flux: opts.flux }], packageVersion);
    return cluster as SimulatedCluster;
  }

  /** Starts the clusters concurrently (most of a start is waiting), then writes the fleet's kubeconfig once. */
  async addClusters(
    clusters: Array<{ name: string; role: "aggregator" | "agent"; flux?: boolean }>,
    packageVersion: string,
  ): Promise<SimulatedCluster[]> {
    const started = await settled(
      clusters.map((c) =>
        timed(`cluster ${c.name} started`, () => this.startCluster(c.name, c.role, packageVersion, c)),
      ),
    );
    await writeFleetKubeconfig(
      this.kubeconfig,
      [...this.clusters.values()].map((c) => c.plane),
      this.pki,
    );
    return started;
  }

  private async startCluster(
    name: string,
    role: "aggregator" | "agent",
    packageVersion: string,
    opts: { flux?: boolean },
  ): Promise<SimulatedCluster> {
    const root = path.join(this.dir, "clusters");
    // this cluster's processes, stopped in reverse order; clusters stop side by side
    const closers: Closer[] = [];
    this.clusterClosers.push(closers);
    const plane = await timed(`${name}: etcd and kube-apiserver ready`, () =>
      startControlPlane(name, root, this.pki),
    );
    closers.push(() => plane.stop());
    const stoppedOnClose = <T extends { stop(): Promise<void> }>(started: T): T => {
      closers.push(() => started.stop());
      return started;
    };
    // kapp-controller and Flux need only the API server: started side by side
    const [kappController] = await settled([
      timed(`${name}: kapp-controller's API available`, () =>
        startKappController(plane, this.pki, path.join(root, name, "kapp-controller"), this.pki.ca, this.dir),
      ).then(stoppedOnClose),
      opts.flux
        ? timed(`${name}: Flux controllers ready`, () =>
            startFlux(plane, path.join(root, name, "flux"), this.pki.ca),
          ).then(stoppedOnClose)
        : undefined,
    ]);
    await timed(`${name}: package repository stand-in applied`, async () => {
      await plane.kubectl(["apply", "-f", "-"], ingressStackCrds());
      await plane.kubectl(
        ["apply", "-f", "-"],
        packageObjects(packageVersion, `${this.git.url}/package.git`),
      );
    });
    const kube = new KubeClient(plane, this.pki);
    closers.push(() => kube.close());
    const ksm = await startKsmExporter(name, KSM_PODS(name));
    closers.push(() => ksm.close());
    const kubelet = new KubeletStandIn(kube, {
      cluster: name,
      dir: path.join(root, name, "kubelet"),
      ksmTarget: ksm.target,
      port: role === "aggregator" ? this.aggregatorPort : undefined,
      remoteWriteUrl: () =>
        role === "agent" ? `http://127.0.0.1:${this.aggregatorPort}/api/v1/write` : undefined,
    });
    kubelet.start();
    closers.push(() => kubelet.stop());
    const cluster = { name, plane, kube, kubelet, ksm, kappController };
    this.clusters.set(name, cluster);
    return cluster;
  }

  cluster(name: string): SimulatedCluster {
    const c = this.clusters.get(name);
    if (!c) throw new Error(`no simulated cluster ${name}`);
    return c;
  }

  /**
   * Stops every cluster (side by side, each in reverse order of starting), then the git server, then
   * removes the folder. On failure it first prints the end of every process's log, so the folder can go
   * whatever happened; PROMFLEET_KEEP_TEST_TMP=1 keeps it whole for a post-mortem.
   */
  async close(failed: boolean): Promise<void> {
    await timed("world stopped", async () => {
      await Promise.all(this.clusterClosers.map(stopInReverse));
      await stopInReverse(this.closers);
    });
    if (failed) console.error(await logTails(this.dir));
    if (process.env.PROMFLEET_KEEP_TEST_TMP !== "1") await rm(this.dir, { recursive: true, force: true });
  }
}

const LOG_TAIL_LINES = 40;

/** The last lines of every `*.log` under `dir`, each headed by its path relative to `dir`. */
export async function logTails(dir: string): Promise<string> {
  const logs = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".log")).sort();
  const tails = await Promise.all(
    logs.map(async (log) => {
      const lines = (await readFile(path.join(dir, log), "utf8")).trimEnd().split("\n");
      return [`--- ${log} (last ${LOG_TAIL_LINES} lines)`, ...lines.slice(-LOG_TAIL_LINES)].join("\n");
    }),
  );
  return tails.join("\n");
}
