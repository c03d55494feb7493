/**
 * The kubelet stand-in. No kubelet, scheduler or controller-manager runs, so nothing would ever make a
 * workload available and kapp would wait forever. Instead, for one cluster, on every change of what it
 * reads (a watch on each kind; every 2s as well, which also notices a Prometheus that stopped):
 * - every Deployment and DaemonSet gets the status its controller and kubelet would report once all
 *   replicas run (observedGeneration = generation — kapp bumps the generation while deploying, so this
 *   keeps reconciling — and every replica count), every PersistentVolumeClaim phase Bound;
 * - the Prometheus Deployment (container `prometheus-server`) is run for real: Debian's Prometheus with
 *   exactly that container's args and its ConfigMap's prometheus.yml, read back from the API server, its
 *   Secret volumes written to a local folder. The only adaptations are local ones: listen address and
 *   data paths, mount paths mapped to that folder, in-cluster service addresses mapped to loopback
 *   (test/support/e2e/local-config.ts with overlays/testing/local-e2e.yaml), and remote_write sent to
 *   the aggregator's loopback port with its credential kept (the ingress's TLS is stood in for).
 *   A change of args, config or mounted Secret restarts it, as a rollout would. Like a readiness probe,
 *   its Deployment is reported available only while that Prometheus runs the Deployment's current spec:
 *   one that exits at start leaves it unavailable (and is not restarted until the spec changes).
 * - a terminating PersistentVolumeClaim loses its `kubernetes.io/pvc-protection` finalizer, as the
 *   controller-manager removes it once no pod uses the claim (no pod ever does here);
 * - a terminating Namespace is finished the way the controller-manager's namespace controller would:
 *   once kapp-controller has removed its Apps and PackageInstalls (their finalizers are its job), the
 *   Secrets, ConfigMaps and ServiceAccounts left in it are deleted and the namespace is finalized.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { freePort, PrometheusProcess } from "../e2e/prometheus-process.js";
import { localArgs, localizeConfig } from "../e2e/local-config.js";
import { MAX_LIFETIME_SECONDS } from "./control-plane.js";
import type { KubeClient, KubeObject } from "./kube-client.js";

const PROMETHEUS_CONTAINER = "prometheus-server";
const PVC_PROTECTION = "kubernetes.io/pvc-protection";
const STATUS_TARGETS: Array<{
  list: string;
  item: (o: KubeObject) => string;
  /** `running`: whether the object's containers run (false only for a Prometheus that is not up). */
  status: (o: KubeObject, running: boolean) => object;
}> = [
  {
    list: "/apis/apps/v1/deployments",
    item: (o) => `/apis/apps/v1/namespaces/${o.metadata.namespace}/deployments/${o.metadata.name}/status`,
    status: (o, running) => {
      const n = (o.spec?.replicas as number | undefined) ?? 1;
      const ready = running ? n : 0;
      return {
        observedGeneration: o.metadata.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: ready,
        availableReplicas: ready,
        unavailableReplicas: n - ready,
        conditions: running
          ? [
              { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
              { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
            ]
          : [
              { type: "Available", status: "False", reason: "MinimumReplicasUnavailable" },
              { type: "Progressing", status: "True", reason: "ReplicaSetUpdated" },
            ],
      };
    },
  },
  {
    list: "/apis/apps/v1/daemonsets",
    item: (o) => `/apis/apps/v1/namespaces/${o.metadata.namespace}/daemonsets/${o.metadata.name}/status`,
    status: (o) => ({
      observedGeneration: o.metadata.generation,
      desiredNumberScheduled: 1,
      currentNumberScheduled: 1,
      updatedNumberScheduled: 1,
      numberReady: 1,
      numberAvailable: 1,
      numberMisscheduled: 0,
    }),
  },
  {
    list: "/api/v1/persistentvolumeclaims",
    item: (o) =>
      `/api/v1/namespaces/${o.metadata.namespace}/persistentvolumeclaims/${o.metadata.name}/status`,
    status: () => ({ phase: "Bound" }),
  },
];

function needsStatus(o: KubeObject, want: object): boolean {
  const have = o.status ?? {};
  return Object.entries(want).some(
    ([k, v]) =>
      k !== "conditions" && JSON.stringify((have as Record<string, unknown>)[k]) !== JSON.stringify(v),
  );
}

interface Container {
  name: string;
  args?: string[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  /** Only Secret sources, as the package overlay renders them (both credential slots, each optional). */
  projected?: {
    sources: Array<{
      secret?: { name: string; optional?: boolean; items?: Array<{ key: string; path: string }> };
    }>;
  };
}

export interface PrometheusRun {
  process: PrometheusProcess;
  /** The container's args as the API server has them. */
  args: string[];
  /** The ConfigMap's prometheus.yml as the API server has it. */
  config: string;
}

export interface KubeletOptions {
  cluster: string;
  dir: string;
  ksmTarget: string;
  /** For agents: the aggregator's local remote-write URL (http://127.0.0.1:<port>/api/v1/write). */
  remoteWriteUrl: () => string | undefined;
  /** For the aggregator: the port it must listen on (agents were told before it started). */
  port?: number;
}

/** What the stand-in reads: a change to any of these may need a status, a Prometheus restart or a cleanup. */
const WATCHED = [
  "/apis/apps/v1/deployments",
  "/apis/apps/v1/daemonsets",
  "/api/v1/persistentvolumeclaims",
  "/api/v1/namespaces",
  "/api/v1/configmaps",
  "/api/v1/secrets",
];

export class KubeletStandIn {
  prometheus: PrometheusRun | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: Array<() => void> = [];
  private busy = false;
  /** A change arrived while a pass was running: run another one right after it. */
  private changed = false;
  private fingerprint = "";
  /** The Deployment generation the running Prometheus was started for. */
  private prometheusGeneration: number | undefined;
  /** The spec whose Prometheus exited at start: not retried until the spec changes (no restart loop). */
  private crashedFingerprint = "";
  private stopped = false;
  lastError: unknown;

  constructor(
    private readonly kube: KubeClient,
    private readonly o: KubeletOptions,
  ) {}

  start(): void {
    this.unwatch = WATCHED.map((p) => this.kube.watch(p, () => void this.tick()));
    this.timer = setInterval(() => void this.tick(), 2000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const unwatch of this.unwatch) unwatch();
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    await this.prometheus?.process.stop(5_000);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      this.changed = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.changed = false;
        await this.pass();
      } while (this.changed && !this.stopped);
    } finally {
      this.busy = false;
    }
  }

  private async pass(): Promise<void> {
    try {
      await this.runPrometheus();
      await this.reportStatuses();
      await this.releaseClaims();
      await this.finishNamespaces();
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e;
    }
  }

  private async reportStatuses(): Promise<void> {
    for (const t of STATUS_TARGETS) {
      for (const o of await this.kube.list(t.list)) {
        const want = t.status(o, !isPrometheus(o) || this.prometheusUp(o));
        if (needsStatus(o, want)) await this.kube.mergePatch(t.item(o), { status: want });
      }
    }
  }

  private async releaseClaims(): Promise<void> {
    for (const pvc of await this.kube.list("/api/v1/persistentvolumeclaims")) {
      const finalizers = pvc.metadata.finalizers ?? [];
      if (!pvc.metadata.deletionTimestamp || !finalizers.includes(PVC_PROTECTION)) continue;
      await this.kube.mergePatch(
        `/api/v1/namespaces/${pvc.metadata.namespace}/persistentvolumeclaims/${pvc.metadata.name}`,
        { metadata: { finalizers: finalizers.filter((f) => f !== PVC_PROTECTION) } },
      );
    }
  }

  private async finishNamespaces(): Promise<void> {
    for (const ns of await this.kube.list("/api/v1/namespaces")) {
      if (!ns.metadata.deletionTimestamp) continue;
      const name = ns.metadata.name;
      const waiting = await Promise.all(
        [
          `/apis/kappctrl.k14s.io/v1alpha1/namespaces/${name}/apps`,
          `/apis/packaging.carvel.dev/v1alpha1/namespaces/${name}/packageinstalls`,
        ].map(async (p) => (await this.kube.list(p).catch(() => [])).length),
      );
      if (waiting.some((n) => n > 0)) continue;
      for (const kind of ["secrets", "configmaps", "serviceaccounts"])
        await this.kube.request("DELETE", `/api/v1/namespaces/${name}/${kind}`);
      await this.kube.request("PUT", `/api/v1/namespaces/${name}/finalize`, {
        ...ns,
        spec: { finalizers: [] },
      });
    }
  }

  private async prometheusDeployment(): Promise<KubeObject | undefined> {
    const all = await this.kube.list("/apis/apps/v1/deployments");
    return all.find((d) => isPrometheus(d) && !d.metadata.deletionTimestamp);
  }

  /** Like a readiness probe: the Deployment counts as available only while its Prometheus runs its current spec. */
  private prometheusUp(d: KubeObject): boolean {
    if ((d.spec?.replicas ?? 1) === 0) return true;
    return this.prometheus?.process.running === true && this.prometheusGeneration === d.metadata.generation;
  }

  private async runPrometheus(): Promise<void> {
    const deployment = await this.prometheusDeployment();
    if (!deployment || (deployment.spec?.replicas ?? 1) === 0) {
      if (this.prometheus) await this.prometheus.process.stop(5_000);
      this.prometheus = undefined;
      this.fingerprint = "";
      return;
    }
    const ns = deployment.metadata.namespace ?? "default";
    const container = containersOf(deployment).find((c) => c.name === PROMETHEUS_CONTAINER) as Container;
    const volumes = volumesOf(deployment);
    const files = new Map<string, Record<string, string>>();
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.find((v) => v.name === mount.name);
      const data = await this.volumeData(ns, volume);
      if (!data && (volume?.secret || volume?.configMap)) return; // the pod would wait in ContainerCreating
      if (volume?.projected && Object.keys(data ?? {}).length === 0) return; // no credential slot exists yet
      if (data) files.set(mount.mountPath, data);
    }
    const args = container.args ?? [];
    const config = [...files.entries()].map(([, d]) => d["prometheus.yml"]).find((c) => c !== undefined);
    if (config === undefined) return; // its ConfigMap is not there yet
    const fingerprint = JSON.stringify([args, [...files.entries()], this.o.remoteWriteUrl()]);
    if (fingerprint === this.fingerprint && this.prometheus?.process.running) {
      this.prometheusGeneration = deployment.metadata.generation;
      return;
    }
    if (fingerprint === this.crashedFingerprint) return;
    await this.prometheus?.process.stop(5_000);
    this.prometheus = undefined;
    try {
      this.prometheus = { process: await this.startPrometheus(args, config, files), args, config };
    } catch (e) {
      this.crashedFingerprint = fingerprint;
      throw e;
    }
    this.fingerprint = fingerprint;
    this.prometheusGeneration = deployment.metadata.generation;
  }

  private async volumeData(
    ns: string,
    volume: Volume | undefined,
  ): Promise<Record<string, string> | undefined> {
    if (volume?.configMap) {
      return (await this.kube.get(`/api/v1/namespaces/${ns}/configmaps/${volume.configMap.name}`))?.data;
    }
    if (volume?.secret) {
      const secret = await this.kube.get(`/api/v1/namespaces/${ns}/secrets/${volume.secret.secretName}`);
      if (!secret?.data) return undefined;
      return Object.fromEntries(
        Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
      );
    }
    if (volume?.projected) return this.projectedData(ns, volume.projected.sources);
    return undefined;
  }

  /** Like the kubelet: each Secret source's items under their paths; a missing optional Secret adds nothing. */
  private async projectedData(
    ns: string,
    sources: NonNullable<Volume["projected"]>["sources"],
  ): Promise<Record<string, string>> {
    const files: Record<string, string> = {};
    for (const { secret: source } of sources) {
      if (!source) continue;
      const secret = await this.kube.get(`/api/v1/namespaces/${ns}/secrets/${source.name}`);
      const data = (secret?.data ?? {}) as Record<string, string>;
      for (const item of source.items ?? Object.keys(data).map((key) => ({ key, path: key })))
        if (data[item.key] !== undefined)
          files[item.path] = Buffer.from(data[item.key] as string, "base64").toString("utf8");
    }
    return files;
  }

  private async startPrometheus(
    renderedArgs: string[],
    config: string,
    files: Map<string, Record<string, string>>,
  ): Promise<PrometheusProcess> {
    const dir = path.join(this.o.dir, "prometheus");
    await rm(dir, { recursive: true, force: true });
    const mounts = path.join(dir, "mounts");
    const mapPath = (p: string) => {
      const mount = [...files.keys()].find((m) => p === m || p.startsWith(`${m}/`));
      return mount ? path.join(mounts, p) : p;
    };
    for (const [mountPath, data] of files) {
      await mkdir(path.join(mounts, mountPath), { recursive: true });
      for (const [k, v] of Object.entries(data)) await writeFile(path.join(mounts, mountPath, k), v);
    }
    const port = this.o.port ?? (await freePort());
    const listen = `127.0.0.1:${port}`;
    const local = await localizeConfig(
      config,
      {
        ksm_target: this.o.ksmTarget,
        self_target: listen,
        scrape_interval: "1s",
        remote_write_url: this.o.remoteWriteUrl() ?? "",
      },
      dir,
    );
    const configFile = path.join(dir, "prometheus.yml");
    await writeFile(configFile, mapPaths(keepRemoteWriteAuth(local, config), mapPath));
    const dataDir = path.join(dir, "data");
    await mkdir(dataDir, { recursive: true });
    const { args } = localArgs(
      renderedArgs.map((a) => a.replace(/=(\/.*)$/, (_, p: string) => `=${mapPath(p)}`)),
      {
        configFile,
        dataDir,
        listenAddress: listen,
      },
    );
    const webConfig = args.find((a) => a.startsWith("--web.config.file="));
    const process = new PrometheusProcess({
      name: `${this.o.cluster}-prometheus`,
      dir,
      args,
      port,
      maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
      isReady: async () => {
        try {
          // behind the web config the readiness endpoint answers 401: the port is what the probe checks
          const res = await fetch(`http://${listen}/-/ready`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          return res.status === 200 || (webConfig !== undefined && res.status === 401);
        } catch {
          return false;
        }
      },
    });
    await process.start();
    return process;
  }
}

function isPrometheus(d: KubeObject): boolean {
  return containersOf(d).some((c) => c.name === PROMETHEUS_CONTAINER);
}

function containersOf(d: KubeObject): Container[] {
  const template = d.spec?.template as { spec?: { containers?: Container[] } } | undefined;
  return template?.spec?.containers ?? [];
}

function volumesOf(d: KubeObject): Volume[] {
  const template = d.spec?.template as { spec?: { volumes?: Volume[] } } | undefined;
  return template?.spec?.volumes ?? [];
}

/** local-e2e.yaml drops remote_write credentials (its receiver has none); this receiver checks them. */
function keepRemoteWriteAuth(localConfig: string, clusterConfig: string): string {
  const local = YAML.parse(localConfig) as { remote_write?: Array<Record<string, unknown>> };
  const original = YAML.parse(clusterConfig) as { remote_write?: Array<Record<string, unknown>> };
  local.remote_write?.forEach((rw, i) => {
    const auth = original.remote_write?.[i]?.basic_auth;
    if (auth) rw.basic_auth = auth;
  });
  return YAML.stringify(local);
}

/** Every string in the config that is a path inside a mounted volume points into the local copy. */
function mapPaths(configText: string, mapPath: (p: string) => string): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.startsWith("/") ? mapPath(v) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return YAML.stringify(walk(YAML.parse(configText)));
}
