/**
 * Issue 14: the rollout proven on real control planes. Each simulated cluster is a real kube-apiserver
 * (etcd behind it) with real kapp-controller v0.53.1 pulling the fleet repository from a local https git
 * server; the kubelet stand-in (test/support/cluster/kubelet.ts) reports workloads ready and runs the
 * Prometheus Deployment as real Prometheus. Everything is driven by promfleet's own commands. The fleet
 * is `rbac: least-privilege` (issue 12): 1b asks each API server's authorizer what its service accounts
 * may do, after they reconciled everything in 1. Scenario 2 is issue 18's wave rollout, each wave
 * reconciled by kapp-controller. Scenario 4 (Flux) has a world of its own: it runs alongside the kapp
 * scenarios (vitest runs test files one after the other on two cores) and its test awaits it.
 */
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { execa } from "execa";
import { describeWith } from "./support/prerequisites.js";
import { clusterBinary, clusterSkipReason, toolBinary } from "./support/cluster/tools.js";
import { World, KSM_PODS } from "./support/cluster/world.js";
import { editSpec, FleetDriver } from "./support/cluster/fleet-driver.js";
import { FLUX_NAMESPACE } from "./support/cluster/flux.js";
import { timed, waitFor } from "./support/cluster/wait.js";
import type { KubeObject } from "./support/cluster/kube-client.js";
import { fixturesDir, promfleet } from "./helpers/fleet-repo.js";

const PACKAGE_VERSION = "2.43.0+vmware.2-tkg.1";
const AGGREGATOR = "hub";
const AGENTS = ["edge-1", "edge-2"];
const PACKAGE_NS = "tkg-system";
const MONITORING_NS = "tanzu-system-monitoring";
const SYNC_PERIOD = "30s";
const APP_SA = "promfleet-app";
const INSTALL_SA = "prometheus-tkg-system-sa";
/** Scenario 2's change: a new fleet-wide overlay, every cluster scraping every 45s (the base says 1m). */
const OVERLAY = "overlays/fleet/scrape-45s.yaml";
const SCRAPE_45S = [
  '#@ load("@ytt:overlay", "overlay")',
  "#@ def overlay_for(cluster):",
  "prometheus:",
  "  config:",
  "    prometheus_yml:",
  "      global:",
  "        scrape_interval: 45s",
  "#@ end",
  "",
].join("\n");

/** The ```sh blocks of a pull request body, one command per line. */
function shellBlocks(body: string): string[] {
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    (m[1] ?? "").split("\n").filter((l) => l.trim() && !l.startsWith("#")),
  );
}

interface AccessCheck {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
}

interface Condition {
  type: string;
  status: string;
  message?: string;
}

/** A promise settled from outside: how one scenario hands a state over to another running beside it. */
interface HandOff<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function handOff<T>(): HandOff<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (reason: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // awaited by the receiving scenario; this only keeps it from going unhandled
  return { promise, resolve, reject };
}

function reconcileState(o: KubeObject | undefined): string | undefined {
  const conditions = (o?.status?.conditions ?? []) as Condition[];
  return conditions.find((c) => c.status === "True")?.type;
}

describeWith(clusterSkipReason(), "rollout on real control planes", () => {
  /** Scenario 4's run, started where the kapp scenarios start waiting for sync periods (scenario 2). */
  let fluxRun: Promise<void> | undefined;
  const startFlux = () => {
    fluxRun ??= fluxScenario();
    fluxRun.catch(() => undefined); // awaited by scenario 4's test; this only keeps it from going unhandled
  };

  describe("kapp-controller", () => kappScenarios(startFlux));

  describe("Flux and SOPS", () => {
    it("4. GitRepository and Kustomization Ready, the PackageInstall health check green, the credential decrypted in the cluster", async () => {
      startFlux(); // already running, unless the kapp scenarios never reached scenario 2
      await timed("scenario 4 (Flux), awaited", () => fluxRun as Promise<void>);
    }, 400_000);
  });
});

function kappScenarios(startFlux: () => void): void {
  let world: World | undefined;
  let fleet: FleetDriver;
  let failed = false;
  /** Each cluster's password, read before the printed `rm` removes the file. */
  const passwords = new Map<string, string>();
  /** The agents' onboarding pull requests, opened and merged while the clusters start: they need only GitHub. */
  let onboarded: Promise<void> | undefined;
  /** Scenario 2's first wave, opened during scenario 1's waits. */
  let canaryWave: Promise<RolloutResult> | undefined;

  beforeAll(async () => {
    world = await World.start();
    const w = world;
    // the operator's spec edits before the first push: least privilege, and the shortest sync period
    // kapp-controller allows (it raises anything below 30s to 30s)
    const initialised = FleetDriver.init(
      w,
      AGGREGATOR,
      [],
      [
        [["rbac"], "least-privilege"],
        [["app", "syncPeriod"], SYNC_PERIOD],
      ],
    );
    onboarded = initialised.then(async (f) => {
      for (const agent of AGENTS) await f.mergedPr(["onboard-cluster", agent]);
    });
    onboarded.catch(() => undefined); // awaited by scenario 1; this only keeps it from going unhandled
    [fleet] = await timed("kapp clusters started and the fleet initialised", () =>
      Promise.all([
        initialised,
        w.addClusters(
          [
            { name: AGGREGATOR, role: "aggregator" },
            ...AGENTS.map((name) => ({ name, role: "agent" as const })),
          ],
          PACKAGE_VERSION,
        ),
      ]),
    );
  }, 300_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    try {
      // no promfleet command left running against a closed fake
      await Promise.allSettled([onboarded, canaryWave]);
      await fleet?.close();
    } finally {
      await world?.close(failed);
    }
  }, 60_000);

  const removed = new Set<string>();
  const liveClusters = () => [AGGREGATOR, ...AGENTS].filter((c) => !removed.has(c));
  const kube = (cluster: string) => (world as World).cluster(cluster).kube;
  const app = (cluster: string) =>
    kube(cluster).get(`/apis/kappctrl.k14s.io/v1alpha1/namespaces/${PACKAGE_NS}/apps/promfleet-${cluster}`);
  const packageInstall = (cluster: string) =>
    kube(cluster).get(
      `/apis/packaging.carvel.dev/v1alpha1/namespaces/${PACKAGE_NS}/packageinstalls/prometheus`,
    );

  /** The flags that point verify (and rollout continue) at the aggregator's Prometheus, as its user. */
  async function aggregatorArgs(): Promise<string[]> {
    const w = world as World;
    const passwordFile = path.join(w.dir, "hub.password");
    await writeFile(passwordFile, passwords.get(AGGREGATOR) ?? "", { mode: 0o600 });
    return [
      "--aggregator-url",
      `http://127.0.0.1:${w.aggregatorPort}`,
      "--username",
      AGGREGATOR,
      "--password-file",
      passwordFile,
      // loopback without the ingress's TLS (the harness runs none): allowed only when asked by name
      "--allow-insecure-http-auth",
    ];
  }

  /** `promfleet verify` against the aggregator's Prometheus, as the aggregator's user. */
  async function verifyFleet(extra: string[] = [], fleetDir = fleet.workspace) {
    return timed("promfleet verify", async () =>
      promfleet(fleetDir, ["verify", ...(await aggregatorArgs()), ...extra]),
    );
  }

  async function reconciled(cluster: string): Promise<void> {
    await waitFor(
      `App promfleet-${cluster} ReconcileSucceeded`,
      async () => (reconcileState(await app(cluster)) === "ReconcileSucceeded" ? true : undefined),
      120_000,
    );
    await waitFor(
      `PackageInstall prometheus in ${cluster} ReconcileSucceeded`,
      async () => {
        const pi = await packageInstall(cluster);
        return reconcileState(pi) === "ReconcileSucceeded" ? true : undefined;
      },
      120_000,
    );
  }

  async function bootstrap(cluster: string, commands: string[], checkout: string): Promise<void> {
    // bootstrap files first; the credential Secret (printed as create --dry-run | apply) once its namespace exists
    const apply = commands.filter((c) => c.includes("/bootstrap/"));
    const credential = commands.filter((c) => !c.includes("/bootstrap/"));
    for (const c of apply) expect(await fleet.runPrinted(c, checkout), c).toMatchObject({ code: 0 });
    // the credential Secret goes into the namespace the package creates
    await waitFor(
      `namespace ${MONITORING_NS} in ${cluster}`,
      () => kube(cluster).get(`/api/v1/namespaces/${MONITORING_NS}`),
      120_000,
    );
    const file = path.join(fleet.workspace, `.promfleet/credentials/${cluster}.password`);
    passwords.set(cluster, (await readFile(file, "utf8")).trim());
    for (const c of credential) expect(await fleet.runPrinted(c), c).toMatchObject({ code: 0 });
  }

  it("1. onboarding: promfleet's App and PackageInstall reconcile, the Deployment runs what values.yaml says, and the aggregator answers for every cluster", async () => {
    const w = world as World;
    await timed(
      "onboarding pull requests merged (opened while the clusters started)",
      () => onboarded as Promise<void>,
    );
    const checkout = await fleet.checkout();
    const pulls = fleet.fake.pulls();
    const hubCommands = [
      `kubectl --context ${AGGREGATOR} apply -f clusters/${AGGREGATOR}/bootstrap/app.yaml`,
      ...fleet.printed.filter(
        (c) => c.includes(`--context ${AGGREGATOR} `) || c.includes(`/${AGGREGATOR}.password`),
      ),
    ];
    const agentCommands = (agent: string) =>
      shellBlocks(pulls.find((p) => p.head === `promfleet/onboard-${agent}`)?.body ?? "").filter(
        (c) => c.startsWith("kubectl") || c.startsWith("rm"),
      );
    // while the clusters reconcile, the operator prepares scenario 2's change (repository and GitHub only)
    canaryWave = openCanaryWave();
    canaryWave.catch(() => undefined); // awaited by scenario 2; this only keeps it from going unhandled
    // each cluster's printed commands in order; the clusters side by side (nothing couples them)
    await Promise.all([
      bootstrap(AGGREGATOR, hubCommands, checkout).then(() => reconciled(AGGREGATOR)),
      ...AGENTS.map((a) => bootstrap(a, agentCommands(a), checkout).then(() => reconciled(a))),
    ]);

    for (const cluster of [AGGREGATOR, ...AGENTS]) {
      const values = YAML.parse(
        await readFile(path.join(checkout, `clusters/${cluster}/values.yaml`), "utf8"),
      );
      const deployment = (await kube(cluster).get(
        `/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`,
      )) as KubeObject;
      const pod = (
        deployment.spec?.template as {
          spec: {
            containers: Array<{
              name: string;
              args: string[];
              volumeMounts: Array<{ name: string; mountPath: string }>;
            }>;
            volumes: Array<{ name: string; secret?: { secretName: string } }>;
          };
        }
      ).spec;
      const server = pod.containers.find((c) => c.name === "prometheus-server");
      expect(server?.args, cluster).toEqual(values.prometheus.deployment.containers.args);
      await expectConfigMapAsRendered(cluster, checkout);
      // the package overlay's credential mounts (secure fleet: basic auth on every cluster)
      expect(server?.volumeMounts, cluster).toContainEqual(
        expect.objectContaining({ name: "promfleet-credentials", mountPath: "/etc/promfleet/credentials" }),
      );
      // both rotation slots' Secrets in one projected volume, so a rotation never changes the pod spec
      expect(pod.volumes, cluster).toContainEqual(
        expect.objectContaining({
          name: "promfleet-credentials",
          projected: expect.objectContaining({
            sources: [
              { secret: expect.objectContaining({ name: "promfleet-credentials", optional: true }) },
              { secret: expect.objectContaining({ name: "promfleet-credentials-1", optional: true }) },
            ],
          }),
        }),
      );
    }

    // the article's query on the aggregator, through the kubelet stand-in's real Prometheus processes
    const auth = `Basic ${Buffer.from(`${AGGREGATOR}:${passwords.get(AGGREGATOR)}`).toString("base64")}`;
    const query = encodeURIComponent("sum(kube_pod_info) by (cluster, namespace)");
    const answered = await waitFor(
      "every cluster in sum(kube_pod_info) by (cluster, namespace)",
      async () => {
        const res = await fetch(`http://127.0.0.1:${w.aggregatorPort}/api/v1/query?query=${query}`, {
          headers: { authorization: auth },
        });
        const body = (await res.json()) as {
          data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
        };
        const got = body.data.result
          .map((r) => `${r.metric.cluster}/${r.metric.namespace}=${r.value[1]}`)
          .sort();
        return new Set(body.data.result.map((r) => r.metric.cluster)).size === 3 ? got : undefined;
      },
      90_000,
    );
    const truth = [AGGREGATOR, ...AGENTS].flatMap((c) => {
      const perNs = new Map<string, number>();
      for (const p of KSM_PODS(c)) perNs.set(p.namespace, (perNs.get(p.namespace) ?? 0) + 1);
      return [...perNs].map(([ns, n]) => `${c}/${ns}=${n}`);
    });
    expect(answered).toEqual(truth.sort());

    const verify = await verifyFleet();
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 400_000);

  /** What the API server's authorizer answers for a service account: the check `kubectl auth can-i --as` makes. */
  async function allowed(cluster: string, serviceAccount: string, check: AccessCheck): Promise<boolean> {
    const review = (await kube(cluster).request(
      "POST",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: `system:serviceaccount:${PACKAGE_NS}:${serviceAccount}`,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${PACKAGE_NS}`, "system:authenticated"],
          resourceAttributes: check,
        },
      },
    )) as { status: { allowed: boolean } };
    return review.status.allowed;
  }

  it("1b. least privilege: what reconciled in 1 did so with rights limited to the package namespace (App) and to what the package creates (install)", async () => {
    const expected: Array<[string, AccessCheck, boolean]> = [
      // the App's service account: PackageInstall, values and overlay Secrets in the package namespace only
      [
        APP_SA,
        { verb: "create", group: "packaging.carvel.dev", resource: "packageinstalls", namespace: PACKAGE_NS },
        true,
      ],
      [APP_SA, { verb: "update", resource: "secrets", namespace: PACKAGE_NS }, true],
      [
        APP_SA,
        { verb: "create", group: "packaging.carvel.dev", resource: "packageinstalls", namespace: "default" },
        false,
      ],
      [APP_SA, { verb: "get", resource: "secrets", namespace: "kube-system" }, false],
      [APP_SA, { verb: "list", resource: "secrets" }, false],
      [
        APP_SA,
        { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" },
        false,
      ],
      [APP_SA, { verb: "create", group: "apps", resource: "deployments", namespace: MONITORING_NS }, false],
      [
        APP_SA,
        {
          verb: "create",
          group: "rbac.authorization.k8s.io",
          resource: "rolebindings",
          namespace: PACKAGE_NS,
        },
        false,
      ],
      // the install's: workloads in the monitoring namespace, nothing elsewhere, no pods, no writes to Secrets elsewhere
      [
        INSTALL_SA,
        { verb: "update", group: "apps", resource: "deployments", namespace: MONITORING_NS },
        true,
      ],
      [
        INSTALL_SA,
        { verb: "create", group: "apps", resource: "deployments", namespace: "kube-system" },
        false,
      ],
      [INSTALL_SA, { verb: "create", resource: "pods", namespace: MONITORING_NS }, false],
      [INSTALL_SA, { verb: "create", resource: "pods/exec", namespace: "kube-system" }, false],
      [INSTALL_SA, { verb: "update", resource: "secrets", namespace: "kube-system" }, false],
      [INSTALL_SA, { verb: "create", resource: "secrets", namespace: PACKAGE_NS }, false],
      [INSTALL_SA, { verb: "get", resource: "secrets", namespace: PACKAGE_NS, name: "sops-age" }, false],
      // kube-state-metrics lists Secrets: Kubernetes lets the install grant that only while holding it
      [INSTALL_SA, { verb: "list", resource: "secrets" }, true],
      // cluster-scoped: creates by kind, changes and deletes only the package's objects, by name
      [INSTALL_SA, { verb: "delete", resource: "namespaces", name: MONITORING_NS }, true],
      [INSTALL_SA, { verb: "delete", resource: "namespaces", name: "kube-system" }, false],
      [
        INSTALL_SA,
        {
          verb: "update",
          group: "rbac.authorization.k8s.io",
          resource: "clusterroles",
          name: "prometheus-server",
        },
        true,
      ],
      [
        INSTALL_SA,
        { verb: "update", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin" },
        false,
      ],
      [
        INSTALL_SA,
        {
          verb: "delete",
          group: "rbac.authorization.k8s.io",
          resource: "clusterrolebindings",
          name: "kapp-controller-cluster-admin",
        },
        false,
      ],
      [
        INSTALL_SA,
        { verb: "create", group: "packaging.carvel.dev", resource: "packageinstalls", namespace: PACKAGE_NS },
        false,
      ],
      [INSTALL_SA, { verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles" }, false],
      [
        INSTALL_SA,
        { verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "cluster-admin" },
        false,
      ],
      [INSTALL_SA, { verb: "impersonate", resource: "serviceaccounts" }, false],
      [INSTALL_SA, { verb: "create", resource: "serviceaccounts/token", namespace: "kube-system" }, false],
    ];
    for (const cluster of liveClusters()) {
      const got = await Promise.all(expected.map(([sa, check]) => allowed(cluster, sa, check)));
      expect(
        got.map((ok, i) => `${expected[i]?.[0]} ${JSON.stringify(expected[i]?.[1])}: ${ok}`),
        cluster,
      ).toEqual(expected.map(([sa, check, ok]) => `${sa} ${JSON.stringify(check)}: ${ok}`));
    }

    // it may create ClusterRoleBindings (the package's), but not one to a role whose rights it lacks
    const escalation = await execa(
      clusterBinary("kubectl"),
      [
        "--context",
        AGGREGATOR,
        "create",
        "clusterrolebinding",
        "promfleet-escalation",
        "--clusterrole=cluster-admin",
        `--serviceaccount=${PACKAGE_NS}:${INSTALL_SA}`,
        `--as=system:serviceaccount:${PACKAGE_NS}:${INSTALL_SA}`,
        "--dry-run=server",
      ],
      { env: { KUBECONFIG: (world as World).kubeconfig }, reject: false },
    );
    expect(escalation.exitCode, escalation.stdout).toBe(1);
    expect(escalation.stderr).toMatch(/forbidden.*(escalat|not currently held)/i);
  });

  const configMap = (cluster: string) =>
    kube(cluster).get(`/api/v1/namespaces/${MONITORING_NS}/configmaps/prometheus-server`);

  /** The Prometheus ConfigMap in `cluster`'s API server is exactly what `checkout`'s values.yaml says. */
  async function expectConfigMapAsRendered(cluster: string, checkout: string): Promise<void> {
    const values = YAML.parse(await readFile(path.join(checkout, `clusters/${cluster}/values.yaml`), "utf8"));
    expect(YAML.parse((await configMap(cluster))?.data?.["prometheus.yml"] ?? ""), cluster).toEqual(
      YAML.parse(values.prometheus.config.prometheus_yml),
    );
  }

  async function scrapeInterval(cluster: string): Promise<string | undefined> {
    const config = YAML.parse((await configMap(cluster))?.data?.["prometheus.yml"] ?? "{}") as {
      global?: { scrape_interval?: string };
    };
    return config.global?.scrape_interval;
  }

  /** Waits for the rolled-out scrape interval in `cluster`'s ConfigMap: within the App's sync period. */
  async function carriesOverlay(cluster: string, merged: number): Promise<void> {
    await waitFor(
      `the 45s scrape interval in ${cluster}'s ConfigMap`,
      async () => ((await scrapeInterval(cluster)) === "45s" ? true : undefined),
      150_000,
    );
    // the App's syncPeriod (30s, ±5s jitter) plus the package App's own reconcile
    expect(Date.now() - merged, cluster).toBeLessThan(75_000);
  }

  /** Waits until `cluster`'s App has finished a successful reconcile whose fetch began after `since`. */
  async function syncedSince(cluster: string, since: number): Promise<void> {
    await waitFor(
      `App promfleet-${cluster} reconciled from a fetch after the merge`,
      async () => {
        const a = await app(cluster);
        const fetch = a?.status?.fetch as { startedAt?: string } | undefined;
        // startedAt has whole seconds: a time after `since` means the fetch began after it
        const fetched = Date.parse(fetch?.startedAt ?? "");
        return fetched > since && reconcileState(a) === "ReconcileSucceeded" ? true : undefined;
      },
      150_000,
    );
  }

  interface RolloutResult {
    outcome: string;
    step: string;
    pr: { number: number };
    files: { added: string[]; modified: string[]; removed: string[] };
  }

  /** `promfleet rollout start|continue … --json` in `dir`, against the fake GitHub. */
  async function rollout(args: string[], dir: string): Promise<RolloutResult> {
    const r = await fleet.promfleet(["rollout", ...args, "--repo", "acme/fleet", "--json"], dir);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return JSON.parse(r.stdout) as RolloutResult;
  }

  /**
   * Scenarios 2, 3 and 5 run side by side, each taking over from the one before where it starts waiting
   * for clusters to sync: 3 opens its pull request once 2 merged its last wave and merges it once 2 has
   * ended; 5 starts from a checkout of main taken after 3's merge, and pushes its first change only once
   * 3 has found edge-1 untouched by the teardown. A hand-off rejects if its scenario fails before it, so
   * no scenario waits forever.
   */
  const restWaveMerged = handOff<void>();
  const rolloutEnded = handOff<void>();
  const offboardedMain = handOff<string>();
  const edge1Untouched = handOff<void>();

  it.concurrent(
    "2. change rollout in waves (issue 18): each merged wave reaches exactly its clusters through kapp-controller, and rollout continue verifies it before opening the next",
    async () => {
      try {
        await changeRollout();
      } catch (e) {
        restWaveMerged.reject(new Error(`scenario 2 failed before its last wave was merged: ${String(e)}`));
        throw e;
      } finally {
        rolloutEnded.resolve();
      }
    },
    300_000,
  );

  /**
   * Scenario 2's first wave, opened while scenario 1's clusters reconcile: the operator's reviewed spec
   * change (waves; it changes no rendered file) pushed, then `rollout start` with the new overlay.
   */
  async function openCanaryWave(): Promise<RolloutResult> {
    // the operator's reviewed spec change first: waves, edge-1 first, then the aggregator and the rest
    const checkout = await fleet.checkout();
    await editSpec(checkout, [
      [
        ["waves"],
        [
          { name: "canary", clusters: ["edge-1"] },
          { name: "rest", clusters: [AGGREGATOR, "*"] },
        ],
      ],
    ]);
    await fleet.push(checkout, "Waves: edge-1 first, then the rest");
    // the change: a new fleet-wide overlay, in the working tree only (rollout start carries it)
    await mkdir(path.join(checkout, path.dirname(OVERLAY)), { recursive: true });
    await writeFile(path.join(checkout, OVERLAY), SCRAPE_45S);
    return rollout(["start", "--overlay", OVERLAY], checkout);
  }

  async function changeRollout(): Promise<void> {
    const w = world as World;
    // from here on the kapp scenarios mostly wait for sync periods: scenario 4 runs in those waits
    startFlux();
    const canary = await timed(
      "scenario 2's first wave opened (during scenario 1)",
      () => canaryWave ?? openCanaryWave(),
    );
    expect(canary).toMatchObject({ outcome: "created", step: "canary" });
    const clusterFiles = [...canary.files.added, ...canary.files.modified, ...canary.files.removed].filter(
      (f) => f.startsWith("clusters/"),
    );
    expect(clusterFiles).toContain("clusters/edge-1/values.yaml");
    expect(clusterFiles.filter((f) => !f.startsWith("clusters/edge-1/"))).toEqual([]);

    await fleet.fake.mergePull(canary.pr.number);
    const canaryMerged = Date.now();
    // edge-1 carries it; the others pulled the same commit and do not
    await Promise.all([
      carriesOverlay("edge-1", canaryMerged),
      syncedSince("edge-2", canaryMerged),
      syncedSince(AGGREGATOR, canaryMerged),
    ]);
    expect(await scrapeInterval("edge-2")).toBe("1m");
    expect(await scrapeInterval(AGGREGATOR)).toBe("1m");
    const afterCanary = await fleet.checkout();
    for (const cluster of liveClusters()) await expectConfigMapAsRendered(cluster, afterCanary);

    // what the on-merge workflow runs after the merge, against the aggregator the clusters write to;
    // no --settle: this test saw the wave's clusters sync (the workflow waits a sync period instead)
    const rest = await rollout(
      [
        "continue",
        ...(await aggregatorArgs()),
        "--settle",
        "0s",
        "--wait",
        "60s",
        "--max-staleness",
        "15s",
        "--poll-interval",
        "1s",
      ],
      afterCanary,
    );
    expect(rest).toMatchObject({ outcome: "created", step: "rest" });
    await fleet.fake.mergePull(rest.pr.number);
    const restMerged = Date.now();
    restWaveMerged.resolve();
    await Promise.all([carriesOverlay("edge-2", restMerged), carriesOverlay(AGGREGATOR, restMerged)]);

    const main = await fleet.checkout();
    for (const cluster of liveClusters()) await expectConfigMapAsRendered(cluster, main);
    const spec = YAML.parse(await readFile(path.join(main, "fleet.yaml"), "utf8"));
    expect(spec.overlays).toContain(OVERLAY);
    expect(spec.rollout).toBeUndefined();
    expect(
      fleet.fake
        .pulls()
        .filter((p) => p.head.startsWith("promfleet/rollout-"))
        .map((p) => [p.head, p.merged]),
    ).toEqual([
      ["promfleet/rollout-overlays-fleet-scrape-45s-canary", true],
      ["promfleet/rollout-overlays-fleet-scrape-45s-rest", true],
    ]);
    expect(fleet.fake.validationErrors).toEqual([]);
    expect(w.cluster("edge-1").kubelet.prometheus?.config).toContain("45s");
  }

  it.concurrent(
    "3. offboarding: the printed teardown removes edge-2's install, the aggregator refuses its credential, the others are untouched",
    async () => {
      try {
        await offboarding();
      } catch (e) {
        const handedOver = new Error(`scenario 3 failed before handing over to 5: ${String(e)}`);
        offboardedMain.reject(handedOver);
        edge1Untouched.reject(handedOver);
        throw e;
      }
    },
    300_000,
  );

  async function offboarding(): Promise<void> {
    const w = world as World;
    const gone = "edge-2";
    const edge2Password = passwords.get(gone) ?? "";
    await restWaveMerged.promise;
    const number = await fleet.openPr(["offboard-cluster", gone]);
    await rolloutEnded.promise; // main stays what scenario 2 left until it has looked at it
    const kept = (await kube("edge-1").get(
      `/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`,
    )) as KubeObject;
    const mainBefore = await fleet.head();
    await fleet.fake.mergePull(number);
    const offboarded = await fleet.checkout();
    // what edge-1's App fetches did not change: its next sync deploys what it deployed before
    const edge1Diff = await execa("git", [
      "-C",
      offboarded,
      "diff",
      "--name-only",
      mainBefore,
      "HEAD",
      "--",
      "clusters/edge-1",
    ]);
    expect(edge1Diff.stdout).toBe("");
    offboardedMain.resolve(offboarded);
    const body = fleet.fake.pulls().find((p) => p.number === number)?.body ?? "";
    const teardown = shellBlocks(body);
    const commands = teardown.flatMap((block) => block.split("\n"));
    expect(commands[0]).toBe(`kubectl --context ${gone} -n ${PACKAGE_NS} delete app promfleet-${gone}`);
    for (const command of commands) {
      const r = await fleet.runPrinted(command);
      expect(r.code, r.stderr).toBe(0);
    }
    removed.add(gone);
    // the bootstrap's service accounts and rights go too: nothing keeps rights on a cluster that left
    expect(
      await kube(gone).get(`/api/v1/namespaces/${PACKAGE_NS}/serviceaccounts/prometheus-${PACKAGE_NS}-sa`),
    ).toBeUndefined();
    expect(
      await kube(gone).get(`/api/v1/namespaces/${PACKAGE_NS}/serviceaccounts/promfleet-app`),
    ).toBeUndefined();
    expect(
      await kube(gone).get(
        `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/promfleet-prometheus-install`,
      ),
    ).toBeUndefined();
    expect(await app(gone)).toBeUndefined();
    expect(await packageInstall(gone)).toBeUndefined();
    expect(
      await kube(gone).get(`/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`),
    ).toBeUndefined();
    expect(
      await kube(gone).get(`/api/v1/namespaces/${MONITORING_NS}/configmaps/prometheus-server`),
    ).toBeUndefined();

    // edge-1 untouched by the teardown: same Deployment, still reconciled (then scenario 5 may change it)
    const after = (await kube("edge-1").get(
      `/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`,
    )) as KubeObject;
    expect(after.metadata.uid).toBe(kept.metadata.uid);
    expect(reconcileState(await app("edge-1"))).toBe("ReconcileSucceeded");
    expect(reconcileState(await packageInstall("edge-1"))).toBe("ReconcileSucceeded");
    edge1Untouched.resolve();

    // the aggregator rolls out the web config without edge-2's hash: its credential is refused
    const write = (user: string, password: string) =>
      fetch(`http://127.0.0.1:${w.aggregatorPort}/api/v1/write`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password.trim()}`).toString("base64")}` },
        body: "",
      }).then((r) => r.status);
    await waitFor(
      `the aggregator refusing ${gone}'s credential`,
      async () => ((await write(gone, edge2Password)) === 401 ? true : undefined),
      150_000,
    );
    // the same web config still accepts the clusters that stay
    expect(await write(AGGREGATOR, passwords.get(AGGREGATOR) ?? "")).not.toBe(401);
    expect(await write("edge-1", passwords.get("edge-1") ?? "")).not.toBe(401);
  }

  it.concurrent(
    "5. a broken change: the package's schema catches it in review; pushed anyway, the cluster's App and PackageInstall report it, and verify names the cluster whose metrics stop",
    () => brokenChange(),
    300_000,
  );

  async function brokenChange(): Promise<void> {
    const broken = "edge-1";
    const checkout = await offboardedMain.promise;
    const specFile = path.join(checkout, "fleet.yaml");
    // The fleet commits the package's Package as package.definition, as the README asks, so the review's
    // validate checks values against its schema (the vendored open-source Package stands in for it).
    const pkg = path.join(fixturesDir, "tce-prometheus-package-2.37.0");
    await mkdir(path.join(checkout, "packages"), { recursive: true });
    await copyFile(path.join(pkg, "package.yaml"), path.join(checkout, "packages", "prometheus.yaml"));
    const spec = (await readFile(specFile, "utf8")).replace(
      /^package:\n/m,
      "package:\n  definition: packages/prometheus.yaml\n",
    );
    expect(spec).toContain("definition: packages/prometheus.yaml");
    const entry = `  - name: ${broken}\n    role: agent\n`;
    expect(spec).toContain(entry);
    await writeFile(
      specFile,
      spec.replace(entry, `${entry}    values:\n      prometheus.deployment.replicas: two\n`),
    );
    expect((await promfleet(checkout, ["render"])).code).toBe(0);

    // the review workflow's commands (CRDs from the vendored copies of what --fetch-crds downloads),
    // read-only checks of one checkout, side by side as a workflow's jobs run
    const crds = ["--crds", path.join(fixturesDir, "crds")];
    const [check, workflowValidate] = await timed("the review workflow's checks", () =>
      Promise.all([promfleet(checkout, ["render", "--check"]), promfleet(checkout, ["validate", ...crds])]),
    );
    expect(check.code, check.stdout).toBe(0);
    // validate fails naming the cluster and the field
    expect(workflowValidate.code, workflowValidate.stdout).toBe(1);
    expect(workflowValidate.stdout).toMatch(
      new RegExp(`FAIL +${broken} package-schema .*replicas must be integer`),
    );

    // slipped through (pushed without that check): what the cluster reports
    await edge1Untouched.promise;
    await fleet.push(checkout, "edge-1: two replicas");
    const failure = await waitFor(
      `PackageInstall in ${broken} reporting the failure`,
      async () => {
        const pi = await packageInstall(broken);
        const failed = ((pi?.status?.conditions ?? []) as Condition[]).find(
          (c) => c.type === "ReconcileFailed",
        );
        return failed?.status === "True"
          ? String(pi?.status?.usefulErrorMessage ?? failed.message ?? "")
          : undefined;
      },
      150_000,
    );
    expect(failure).toContain("replicas");
    // kapp-controller leaves what it deployed in place: the cluster's Prometheus still runs
    expect((world as World).cluster(broken).kubelet.prometheus?.process.running).toBe(true);
    // the App that delivers it reports the failure at its next sync (its own deploy, of an unchanged
    // PackageInstall, succeeded before the PackageInstall failed); the next change is prepared meanwhile
    const appFailed = waitFor(
      `App promfleet-${broken} reporting the failure`,
      async () => {
        const a = await app(broken);
        return reconcileState(a) === "ReconcileFailed"
          ? String(a?.status?.usefulErrorMessage ?? "")
          : undefined;
      },
      60_000,
    );
    appFailed.catch(() => undefined); // awaited below; this only keeps an early timeout from going unhandled
    console.info(`${broken}'s PackageInstall: ${failure.split("\n")[0]}`);

    // Slipped through the other way: an arg every check of the review passes (render, validate) but
    // Prometheus refuses at start (exit 1, "unrecognized log level"), as a crash-looping pod would.
    const values = YAML.parse(await readFile(path.join(checkout, `clusters/${broken}/values.yaml`), "utf8"));
    const crashing = [...values.prometheus.deployment.containers.args, "--log.level=verbose"];
    await writeFile(
      specFile,
      spec.replace(
        entry,
        `${entry}    values:\n      prometheus.deployment.containers.args: ${JSON.stringify(crashing)}\n`,
      ),
    );
    const rendered = await promfleet(checkout, ["render"]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const reviewed = await promfleet(checkout, ["validate", ...crds]);
    expect(reviewed.code, reviewed.stdout).toBe(0);
    expect(await appFailed).toContain("prometheus");
    // pushed anyway: the failed App retries within seconds, the Deployment never becomes available
    await fleet.push(checkout, "edge-1: verbose logs");
    const waiting = await waitFor(
      `the package App in ${broken} waiting on the Prometheus Deployment`,
      async () => {
        const a = await kube(broken).get(
          `/apis/kappctrl.k14s.io/v1alpha1/namespaces/${PACKAGE_NS}/apps/prometheus`,
        );
        const stdout = String((a?.status?.deploy as { stdout?: string } | undefined)?.stdout ?? "");
        return stdout.includes("Waiting for 1 unavailable replicas") ? stdout : undefined;
      },
      120_000,
    );
    expect(waiting).toMatch(/deployment\/prometheus-server/);
    // the PackageInstall follows its App: from the earlier failure to Reconciling, and stays there
    await waitFor(
      `PackageInstall in ${broken} Reconciling`,
      async () => (reconcileState(await packageInstall(broken)) === "Reconciling" ? true : undefined),
      30_000,
    );

    // and verify names the cluster whose metrics stopped
    const verify = await waitFor(
      `promfleet verify naming ${broken}`,
      async () => {
        // the merged spec (edge-2 offboarded): the clusters that should be receiving
        const r = await verifyFleet(["--max-staleness", "10s"], checkout);
        return r.code === 1 && new RegExp(`^${broken} +stale `, "m").test(r.stdout) ? r : undefined;
      },
      90_000,
      2000,
    );
    expect(verify.stdout).toMatch(new RegExp(`^${broken} +stale `, "m"));
    expect(verify.stdout).toMatch(new RegExp(`^${AGGREGATOR} +receiving `, "m"));
    expect(reconcileState(await packageInstall(broken))).toBe("Reconciling");
  }
}

const AGE_KEY_PLACEHOLDER = "<age key file>";
const ready = (o: KubeObject | undefined) =>
  ((o?.status?.conditions ?? []) as Condition[]).find((c) => c.type === "Ready");

/**
 * Scenario 4: the same kind of fleet delivered by Flux. A real kube-apiserver with Flux's
 * source-controller and kustomize-controller v1.9.6 (and kapp-controller for the PackageInstall) pulls
 * the fleet repository from its own local https git server; credentials are SOPS-encrypted for an age
 * key whose Secret is created with exactly the command promfleet prints. Its world is its own, stopped
 * and removed (its logs' tails printed on failure) when it ends.
 */
async function fluxScenario(): Promise<void> {
  let world: World | undefined;
  let fleet: FleetDriver | undefined;
  let failed = false;
  try {
    world = await World.start();
    const ageKeyFile = path.join(world.dir, "age-key.txt");
    await execa(toolBinary("age-keygen"), ["-o", ageKeyFile]);
    const recipient = (await execa(toolBinary("age-keygen"), ["-y", ageKeyFile])).stdout.trim();
    const [driver] = await Promise.all([
      FleetDriver.init(world, AGGREGATOR, ["--delivery", "flux", "--age-recipient", recipient]),
      world.addCluster(AGGREGATOR, "aggregator", PACKAGE_VERSION, { flux: true }),
    ]);
    fleet = driver;
    await fluxDelivers(world, fleet, ageKeyFile);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    try {
      await fleet?.close();
    } finally {
      await world?.close(failed);
    }
  }
}

async function fluxDelivers(world: World, fleet: FleetDriver, ageKeyFile: string): Promise<void> {
  const kube = world.cluster(AGGREGATOR).kube;
  const checkout = await fleet.checkout();
  // the age key first (flux-system exists once Flux is installed): a Kustomization that finds no
  // decryption Secret at its first reconcile retries only after its retryInterval (2m)
  const ageCommand = fleet.printed.find((c) => c.includes("sops-age"));
  expect(ageCommand).toContain(AGE_KEY_PLACEHOLDER);
  const created = await fleet.runPrinted((ageCommand as string).replace(AGE_KEY_PLACEHOLDER, ageKeyFile));
  expect(created.code, created.stderr).toBe(0);
  const bootstrap = `kubectl --context ${AGGREGATOR} apply -f clusters/${AGGREGATOR}/bootstrap/flux.yaml`;
  expect(await fleet.runPrinted(bootstrap, checkout)).toMatchObject({ code: 0 });

  const gitRepository = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/gitrepositories/promfleet`;
  const kustomization = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/kustomizations/promfleet-${AGGREGATOR}`;
  await waitFor(
    "GitRepository Ready",
    async () => (ready(await kube.get(gitRepository))?.status === "True" ? true : undefined),
    90_000,
  );
  let last: Condition | undefined;
  await waitFor(
    "Kustomization Ready (its health check: the PackageInstall ReconcileSucceeded)",
    async () => {
      last = ready(await kube.get(kustomization));
      return last?.status === "True" ? true : undefined;
    },
    180_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last Ready condition: ${JSON.stringify(last)}`);
  });
  const pi = await kube.get(
    `/apis/packaging.carvel.dev/v1alpha1/namespaces/${PACKAGE_NS}/packageinstalls/prometheus`,
  );
  expect(reconcileState(pi)).toBe("ReconcileSucceeded");

  // the credential: what sops decrypts from the repository with the age key is what the cluster holds
  const sopsFile = path.join(checkout, `clusters/${AGGREGATOR}/manifests/credentials.sops.yaml`);
  const decrypted = await execa(toolBinary("sops"), ["-d", sopsFile], {
    env: { SOPS_AGE_KEY_FILE: ageKeyFile },
  });
  const plain = YAML.parse(decrypted.stdout) as {
    metadata: { name: string; namespace: string };
    stringData: Record<string, string>;
  };
  const inCluster = await kube.get(
    `/api/v1/namespaces/${plain.metadata.namespace}/secrets/${plain.metadata.name}`,
  );
  const clusterData = Object.fromEntries(
    Object.entries(inCluster?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  expect(clusterData).toEqual(plain.stringData);
  expect(JSON.stringify(clusterData)).not.toContain("ENC[");
  const encrypted = await readFile(sopsFile, "utf8");
  for (const v of Object.values(plain.stringData)) expect(encrypted).not.toContain(v);
}
