/**
 * Issue 14: the rollout proven on real control planes. Each simulated cluster is a real kube-apiserver
 * (etcd behind it) with real kapp-controller v0.53.1 pulling the fleet repository from a local https git
 * server; the kubelet stand-in (test/support/cluster/kubelet.ts) reports workloads ready and runs the
 * Prometheus Deployment as real Prometheus. Everything is driven by promfleet's own commands. The fleet
 * is `rbac: least-privilege` (issue 12): 1b asks each API server's authorizer what its service accounts
 * may do, after they reconciled everything in 1.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import YAML from "yaml";
import { execa } from "execa";
import { describeWith } from "./support/prerequisites.js";
import { clusterBinary, clusterSkipReason } from "./support/cluster/tools.js";
import { World, KSM_PODS } from "./support/cluster/world.js";
import { FleetDriver } from "./support/cluster/fleet-driver.js";
import { waitFor } from "./support/cluster/wait.js";
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

function reconcileState(o: KubeObject | undefined): string | undefined {
  const conditions = (o?.status?.conditions ?? []) as Condition[];
  return conditions.find((c) => c.status === "True")?.type;
}

describeWith(clusterSkipReason(), "rollout on real kube-apiservers with kapp-controller", () => {
  let world: World | undefined;
  let fleet: FleetDriver;
  let failed = false;
  /** Each cluster's password, read before the printed `rm` removes the file. */
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    world = await World.start();
    const w = world;
    // the operator's spec edits before the first push: least privilege, and the shortest sync period
    // kapp-controller allows (it raises anything below 30s to 30s)
    [fleet] = await Promise.all([
      FleetDriver.init(
        w,
        AGGREGATOR,
        [],
        [
          [["rbac"], "least-privilege"],
          [["app", "syncPeriod"], SYNC_PERIOD],
        ],
      ),
      w.addClusters(
        [
          { name: AGGREGATOR, role: "aggregator" },
          ...AGENTS.map((name) => ({ name, role: "agent" as const })),
        ],
        PACKAGE_VERSION,
      ),
    ]);
  }, 300_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    try {
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

  /** `promfleet verify` against the aggregator's Prometheus, as the aggregator's user. */
  async function verifyFleet(extra: string[] = [], fleetDir = fleet.workspace) {
    const w = world as World;
    const passwordFile = path.join(w.dir, "hub.password");
    await writeFile(passwordFile, passwords.get(AGGREGATOR) ?? "", { mode: 0o600 });
    return promfleet(fleetDir, [
      "verify",
      "--aggregator-url",
      `http://127.0.0.1:${w.aggregatorPort}`,
      "--username",
      AGGREGATOR,
      "--password-file",
      passwordFile,
      // loopback without the ingress's TLS (the harness runs none): allowed only when asked by name
      "--allow-insecure-http-auth",
      ...extra,
    ]);
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
    for (const agent of AGENTS) await fleet.mergedPr(["onboard-cluster", agent]);
    const checkout = await fleet.checkout();
    const pulls = fleet.fake.pulls();
    const hubCommands = [
      `kubectl --context ${AGGREGATOR} apply -f clusters/${AGGREGATOR}/bootstrap/app.yaml`,
      ...fleet.printed.filter((c) => c.includes(AGGREGATOR)),
    ];
    await bootstrap(AGGREGATOR, hubCommands, checkout);
    for (const agent of AGENTS) {
      const pr = pulls.find((p) => p.head === `promfleet/onboard-${agent}`);
      await bootstrap(
        agent,
        shellBlocks(pr?.body ?? "").filter((c) => c.startsWith("kubectl") || c.startsWith("rm")),
        checkout,
      );
    }
    for (const cluster of [AGGREGATOR, ...AGENTS]) await reconciled(cluster);

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
      const configMap = await kube(cluster).get(
        `/api/v1/namespaces/${MONITORING_NS}/configmaps/prometheus-server`,
      );
      expect(YAML.parse(configMap?.data?.["prometheus.yml"] ?? ""), cluster).toEqual(
        YAML.parse(values.prometheus.config.prometheus_yml),
      );
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

  it("2. change rollout: a merged fleet-wide overlay change reaches every cluster's ConfigMap within the App's sync period", async () => {
    const checkout = await fleet.checkout();
    const base = path.join(checkout, "overlays/base/values.yaml");
    const text = await readFile(base, "utf8");
    expect(text).toContain("scrape_interval: 1m");
    await writeFile(base, text.replace("scrape_interval: 1m", "scrape_interval: 45s"));
    expect((await promfleet(checkout, ["render"])).code).toBe(0);
    await fleet.push(checkout, "Scrape every 45s");
    const merged = Date.now();
    for (const cluster of liveClusters()) {
      await waitFor(
        `the new scrape interval in ${cluster}'s ConfigMap`,
        async () => {
          const cm = await kube(cluster).get(
            `/api/v1/namespaces/${MONITORING_NS}/configmaps/prometheus-server`,
          );
          const config = YAML.parse(cm?.data?.["prometheus.yml"] ?? "{}") as {
            global?: { scrape_interval?: string };
          };
          return config.global?.scrape_interval === "45s" ? true : undefined;
        },
        150_000,
        1000,
      );
      const values = YAML.parse(
        await readFile(path.join(checkout, `clusters/${cluster}/values.yaml`), "utf8"),
      );
      const cm = await kube(cluster).get(`/api/v1/namespaces/${MONITORING_NS}/configmaps/prometheus-server`);
      expect(YAML.parse(cm?.data?.["prometheus.yml"] ?? ""), cluster).toEqual(
        YAML.parse(values.prometheus.config.prometheus_yml),
      );
    }
    // the App's syncPeriod (30s, ±5s jitter) plus the package App's own reconcile
    expect(Date.now() - merged).toBeLessThan(75_000);
  }, 200_000);

  it("3. offboarding: the printed teardown removes edge-2's install, the aggregator refuses its credential, the others are untouched", async () => {
    const w = world as World;
    const gone = "edge-2";
    const edge2Password = passwords.get(gone) ?? "";
    const kept = (await kube("edge-1").get(
      `/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`,
    )) as KubeObject;
    const number = await fleet.mergedPr(["offboard-cluster", gone]);
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
      1000,
    );
    expect(await write(AGGREGATOR, passwords.get(AGGREGATOR) ?? "")).not.toBe(401);

    // edge-1 untouched: same Deployment generation, still reconciled
    const after = (await kube("edge-1").get(
      `/apis/apps/v1/namespaces/${MONITORING_NS}/deployments/prometheus-server`,
    )) as KubeObject;
    expect(after.metadata.uid).toBe(kept.metadata.uid);
    expect(reconcileState(await app("edge-1"))).toBe("ReconcileSucceeded");
    expect(reconcileState(await packageInstall("edge-1"))).toBe("ReconcileSucceeded");
  }, 300_000);

  it("5. a broken change: the package's schema catches it in review; pushed anyway, the cluster's App and PackageInstall report it, and verify names the cluster whose metrics stop", async () => {
    const broken = "edge-1";
    const checkout = await fleet.checkout();
    const specFile = path.join(checkout, "fleet.yaml");
    const spec = await readFile(specFile, "utf8");
    const entry = `  - name: ${broken}\n    role: agent\n`;
    expect(spec).toContain(entry);
    await writeFile(
      specFile,
      spec.replace(entry, `${entry}    values:\n      prometheus.deployment.replicas: two\n`),
    );
    expect((await promfleet(checkout, ["render"])).code).toBe(0);

    // the review workflow's commands (CRDs from the vendored copies of what --fetch-crds downloads)
    const crds = ["--crds", path.join(fixturesDir, "crds")];
    expect((await promfleet(checkout, ["render", "--check"])).code).toBe(0);
    const workflowValidate = await promfleet(checkout, ["validate", ...crds]);
    // with the package's values schema and bundle, validate names the cluster and the field
    const pkg = path.join(fixturesDir, "tce-prometheus-package-2.37.0");
    const withPackage = await promfleet(checkout, [
      "validate",
      ...crds,
      "--package",
      path.join(pkg, "package.yaml"),
      "--package-bundle",
      path.join(pkg, "bundle"),
    ]);
    expect(withPackage.code, withPackage.stdout).toBe(1);
    expect(withPackage.stdout).toMatch(
      new RegExp(`FAIL +${broken} package-schema .*replicas must be integer`),
    );

    // slipped through (pushed without that check): what the cluster reports
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
      1000,
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
    console.info(
      `review workflow's validate exit ${workflowValidate.code}; ${broken}'s PackageInstall: ${failure.split("\n")[0]}`,
    );

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
      1000,
    );
    expect(waiting).toMatch(/deployment\/prometheus-server/);
    expect(reconcileState(await packageInstall(broken))).toBe("Reconciling");

    // and verify names the cluster whose metrics stopped
    const verify = await waitFor(
      `promfleet verify naming ${broken}`,
      async () => {
        // the merged spec (edge-2 offboarded): the clusters that should be receiving
        const r = await verifyFleet(["--max-staleness", "15s"], checkout);
        return r.code === 1 && new RegExp(`^${broken} +stale `, "m").test(r.stdout) ? r : undefined;
      },
      90_000,
      2000,
    );
    expect(verify.stdout).toMatch(new RegExp(`^${broken} +stale `, "m"));
    expect(verify.stdout).toMatch(new RegExp(`^${AGGREGATOR} +receiving `, "m"));
  }, 300_000);
});
