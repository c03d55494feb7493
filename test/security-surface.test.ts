/**
 * Issue 12, workloads in a monitored cluster: the aggregator's surface. Everything here is checked on the
 * pod spec and resources the package itself renders (the vendored TCE bundle plus promfleet's package
 * overlay, through real ytt), which is what kapp-controller applies.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { promfleet, readRepoFile, writeRepoFile, exampleFleetRepo } from "./helpers/fleet-repo.js";
import { findDoc, renderThroughPackage, serverPod, type Container } from "./helpers/package-bundle.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

type Route = { conditions: Array<{ prefix?: string }>; services: Array<{ name: string }> };

/** Every string a container is started with or carries in its environment. */
function startupStrings(c: Container): string[] {
  return [
    ...(c.command ?? []),
    ...(c.args ?? []),
    ...((c.env ?? []) as Array<{ value?: string; valueFrom?: unknown }>).map((e) =>
      JSON.stringify(e.valueFrom ?? e.value ?? ""),
    ),
  ];
}

describe("the aggregator's surface in a fleet promfleet makes", () => {
  it("the ingress routes remote write and queries only: no Prometheus UI or admin API, no Alertmanager", async () => {
    const { dir } = await secureFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const docs = await renderThroughPackage(dir, "orbstack");
    const proxy = findDoc(docs, "HTTPProxy", "prometheus-httpproxy") as { spec: { routes: Route[] } };
    expect(proxy.spec.routes.map((r) => r.conditions)).toEqual([
      [{ prefix: "/api/v1/write" }],
      [{ prefix: "/api/v1/query" }],
    ]);
    expect(proxy.spec.routes.flatMap((r) => r.services.map((s) => s.name))).toEqual([
      "prometheus-server",
      "prometheus-server",
    ]);
    expect(JSON.stringify(proxy)).not.toContain("alertmanager");
  });

  it("no lifecycle API: nobody can POST /-/quit, and the config is still reloaded (SIGHUP)", async () => {
    const { dir } = await secureFleetRepo();
    await promfleet(dir, ["render"]);
    const values = parse(await readRepoFile(dir, "clusters/orbstack/values.yaml"));
    expect(values.prometheus.deployment.containers.args).not.toContain("--web.enable-lifecycle");
    for (const cluster of ["orbstack", "kind"]) {
      const { pod, server, reload } = serverPod(await renderThroughPackage(dir, cluster));
      expect(server.args, cluster).not.toContain("--web.enable-lifecycle");
      expect(pod.shareProcessNamespace, cluster).toBe(true);
      expect(reload.command?.join(" "), cluster).toContain("pkill -HUP -x prometheus");
      expect(reload.volumeMounts, cluster).toEqual([
        { name: "config-volume", mountPath: "/etc/config", readOnly: true },
      ]);
    }
  });

  it("no credential in any container's arguments, environment or URLs; the reloader listens on no port", async () => {
    const fleet = await secureFleetRepo({ agents: ["kind"] });
    await promfleet(fleet.dir, ["render"]);
    for (const cluster of ["orbstack", "kind"]) {
      const { pod, reload } = serverPod(await renderThroughPackage(fleet.dir, cluster));
      for (const c of pod.containers)
        for (const s of startupStrings(c)) {
          expect(s, `${cluster}/${c.name}`).not.toMatch(/:\/\/[^/\s]*@/);
          expect(s, `${cluster}/${c.name}`).not.toContain("$(");
          expect(s, `${cluster}/${c.name}`).not.toContain("promfleet-credentials");
          for (const [, cred] of fleet.credentials) expect(s).not.toContain(cred.password);
        }
      expect(reload.ports ?? [], cluster).toEqual([]);
      expect(startupStrings(reload).join(" "), cluster).not.toContain("--webhook-url");
    }
  });

  it("a NetworkPolicy admits only the ingress controller, on Prometheus' port", async () => {
    const { dir } = await secureFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    await writeRepoFile(
      dir,
      "fleet.yaml",
      spec.replace(
        "host: prometheus.example.com\n",
        "host: prometheus.example.com\n      controllerNamespace: projectcontour\n",
      ),
    );
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const policy = findDoc(
      await renderThroughPackage(dir, "orbstack"),
      "NetworkPolicy",
      "promfleet-prometheus-server",
    );
    expect(policy).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "promfleet-prometheus-server", namespace: "tanzu-system-monitoring" },
      spec: {
        podSelector: { matchLabels: { app: "prometheus", component: "server" } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "projectcontour" } } },
            ],
            ports: [{ protocol: "TCP", port: 9090 }],
          },
        ],
      },
    });
  });

  it("the article's example fleet keeps its full API, and says so in the spec", async () => {
    const dir = await exampleFleetRepo();
    const spec = await readRepoFile(dir, "fleet.yaml");
    expect(spec).toMatch(/# INSECURE[^\n]*\n(#[^\n]*\n)*exposeFullApi: true\n/);
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const values = parse(await readRepoFile(dir, "clusters/orbstack/values.yaml"));
    expect(values.prometheus.deployment.containers.args).toContain("--web.enable-lifecycle");
    await writeRepoFile(dir, "fleet.yaml", spec.replace("exposeFullApi: true\n", ""));
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const secured = parse(await readRepoFile(dir, "clusters/orbstack/values.yaml"));
    expect(secured.prometheus.deployment.containers.args).not.toContain("--web.enable-lifecycle");
    const proxy = findDoc(
      await renderThroughPackage(dir, "orbstack"),
      "HTTPProxy",
      "prometheus-httpproxy",
    ) as {
      spec: { routes: Route[] };
    };
    expect(proxy.spec.routes).toHaveLength(2);
  });
});
