/**
 * Issue 12, collaborators with push access: a least-privilege mode in which Git write access is not
 * cluster-admin. The install's rights are checked against what the package bundle actually renders
 * (real ytt, with promfleet's package overlay), with an RBAC rule matcher written here, not promfleet's.
 */
import { describe, expect, it } from "vitest";
import { access } from "node:fs/promises";
import path from "node:path";
import { promfleet, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { renderThroughPackage } from "./helpers/package-bundle.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";
import { parseDocs } from "./helpers/values.js";

type Rule = {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
};
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { name: string };
  subjects?: Array<{ name: string; namespace: string }>;
  spec?: { serviceAccountName?: string };
};

/** Plural resource names of the kinds the package renders (Kubernetes' own, as in its API discovery). */
const PLURAL: Record<string, string> = {
  Namespace: "namespaces",
  ServiceAccount: "serviceaccounts",
  ConfigMap: "configmaps",
  Secret: "secrets",
  Service: "services",
  PersistentVolumeClaim: "persistentvolumeclaims",
  Deployment: "deployments",
  DaemonSet: "daemonsets",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
  PodSecurityPolicy: "podsecuritypolicies",
  Certificate: "certificates",
  Issuer: "issuers",
  HTTPProxy: "httpproxies",
  NetworkPolicy: "networkpolicies",
};

const TANZU_MONITORING_NAMESPACE = "tanzu-system-monitoring";

/** Kinds Kubernetes keeps at cluster scope, whatever namespace a manifest gives them. */
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PodSecurityPolicy"]);

/** As the RBAC authorizer decides; `name` is the object's (a create request has none). */
function allows(rules: Rule[], group: string, resource: string, verb: string, name?: string): boolean {
  return rules.some(
    (r) =>
      (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))) &&
      (r.apiGroups ?? []).some((g) => g === "*" || g === group) &&
      (r.resources ?? []).some((x) => x === "*" || x === resource) &&
      r.verbs.some((v) => v === "*" || v === verb),
  );
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] as string) : "";
}

async function leastPrivilegeFleet(): Promise<string> {
  const { dir } = await secureFleetRepo({ agents: ["kind", "edge-1"] });
  const spec = (await readRepoFile(dir, "fleet.yaml"))
    .replace("clusters:\n", "rbac: least-privilege\nclusters:\n")
    .replace("  - name: edge-1\n", "  - name: edge-1\n    delivery: flux\n");
  await writeRepoFile(dir, "fleet.yaml", spec);
  const r = await promfleet(dir, ["render"]);
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

describe("rbac: least-privilege", () => {
  it("nothing is bound to cluster-admin; the install's RBAC is in the bootstrap a person applies", async () => {
    const dir = await leastPrivilegeFleet();
    for (const cluster of ["orbstack", "kind", "edge-1"]) {
      await expect(access(path.join(dir, "clusters", cluster, "manifests", "rbac.yaml"))).rejects.toThrow();
      const bootstrap = cluster === "edge-1" ? "flux.yaml" : "app.yaml";
      const docs = parseDocs(await readRepoFile(dir, `clusters/${cluster}/bootstrap/${bootstrap}`)) as Doc[];
      expect(JSON.stringify(docs), cluster).not.toContain("cluster-admin");
      expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(
        expect.arrayContaining([
          "ServiceAccount/prometheus-tkg-system-sa",
          "ClusterRole/promfleet-prometheus-install",
          "ClusterRoleBinding/promfleet-prometheus-install",
        ]),
      );
    }
  });

  it("the delivery's service account may touch only the package namespace", async () => {
    const dir = await leastPrivilegeFleet();
    const app = parseDocs(await readRepoFile(dir, "clusters/kind/bootstrap/app.yaml")) as Doc[];
    const flux = parseDocs(await readRepoFile(dir, "clusters/edge-1/bootstrap/flux.yaml")) as Doc[];
    const ks = flux.find((d) => d.kind === "Kustomization");
    expect(ks?.spec?.serviceAccountName).toBe("promfleet-app");
    for (const [docs, saNamespace] of [
      [app, "tkg-system"],
      [flux, "flux-system"],
    ] as const) {
      const bindings = docs.filter(
        (d) =>
          (d.kind === "RoleBinding" || d.kind === "ClusterRoleBinding") &&
          (d.subjects ?? []).some((s) => s.name === "promfleet-app" && s.namespace === saNamespace),
      );
      expect(bindings.map((b) => [b.kind, b.metadata.namespace])).toEqual([["RoleBinding", "tkg-system"]]);
      const role = docs.find((d) => d.kind === "Role" && d.metadata.name === bindings[0]?.roleRef?.name);
      for (const manifest of ["package-install.yaml", "values-secret.yaml", "package-overlay.yaml"])
        for (const d of parseDocs(await readRepoFile(dir, `clusters/kind/manifests/${manifest}`)) as Doc[]) {
          expect(d.metadata.namespace).toBe("tkg-system");
          expect(
            allows(
              role?.rules ?? [],
              groupOf(d.apiVersion),
              PLURAL[d.kind] ?? `${d.kind.toLowerCase()}s`,
              "create",
            ),
            d.kind,
          ).toBe(true);
        }
    }
  });

  it("the install may create every resource the package renders and hold every permission it grants", async () => {
    const dir = await leastPrivilegeFleet();
    const docs = parseDocs(await readRepoFile(dir, "clusters/orbstack/bootstrap/app.yaml")) as Doc[];
    const clusterRules = docs.find((d) => d.kind === "ClusterRole")?.rules as Rule[];
    const namespaced = docs.filter(
      (d) => d.kind === "Role" && d.metadata.name === "promfleet-prometheus-install",
    );
    expect(namespaced.map((r) => r.metadata.namespace)).toEqual(["tanzu-system-monitoring"]);
    const namespacedRules = namespaced[0]?.rules as Rule[];
    for (const cluster of ["orbstack", "kind"])
      for (const d of (await renderThroughPackage(dir, cluster)) as Doc[]) {
        const rules = CLUSTER_SCOPED.has(d.kind) ? clusterRules : namespacedRules;
        expect(
          allows(rules, groupOf(d.apiVersion), PLURAL[d.kind] as string, "create"),
          `create ${d.kind}`,
        ).toBe(true);
        // the open bundle installs into `prometheus`, the Tanzu package into tanzu-system-monitoring
        const name = d.kind === "Namespace" ? TANZU_MONITORING_NAMESPACE : d.metadata.name;
        for (const verb of ["get", "update", "delete"])
          expect(
            allows(rules, groupOf(d.apiVersion), PLURAL[d.kind] as string, verb, name),
            `${verb} ${d.kind} ${name}`,
          ).toBe(true);
        if (d.kind === "ClusterRole")
          for (const rule of d.rules as Rule[])
            for (const group of rule.apiGroups ?? [])
              for (const resource of rule.resources ?? [])
                for (const verb of rule.verbs)
                  expect(
                    allows(clusterRules, group, resource, verb),
                    `${d.metadata.name}: ${verb} ${group}/${resource}`,
                  ).toBe(true);
      }
    expect(allows(clusterRules, "", "pods", "create")).toBe(false);
    expect(allows(clusterRules, "apps", "deployments", "create")).toBe(false);
  });

  it("the install changes only the cluster-scoped objects the package creates, and no Secret outside the monitoring namespace", async () => {
    const dir = await leastPrivilegeFleet();
    const docs = parseDocs(await readRepoFile(dir, "clusters/orbstack/bootstrap/app.yaml")) as Doc[];
    const cluster = docs.find((d) => d.kind === "ClusterRole")?.rules ?? [];
    for (const verb of ["update", "delete"]) {
      expect(allows(cluster, "", "namespaces", verb, "kube-system"), `${verb} namespace kube-system`).toBe(
        false,
      );
      expect(allows(cluster, "", "namespaces", verb, TANZU_MONITORING_NAMESPACE)).toBe(true);
      for (const kind of ["clusterroles", "clusterrolebindings"]) {
        expect(
          allows(cluster, "rbac.authorization.k8s.io", kind, verb, "cluster-admin"),
          `${verb} ${kind}`,
        ).toBe(false);
        expect(allows(cluster, "rbac.authorization.k8s.io", kind, verb, "prometheus-server")).toBe(true);
      }
    }
    // kube-state-metrics lists Secrets, so the install must hold that; it gets and writes none elsewhere
    expect(allows(cluster, "", "secrets", "list")).toBe(true);
    expect(allows(cluster, "", "secrets", "get", "sops-age")).toBe(false);
    // in the package namespace, kapp's records only: not the values Secrets, not the SOPS key
    const records = docs.find(
      (d) => d.kind === "Role" && d.metadata.name === "promfleet-prometheus-install-records",
    );
    expect(records?.metadata.namespace).toBe("tkg-system");
    expect(allows(records?.rules ?? [], "", "configmaps", "create")).toBe(true);
    expect(allows(records?.rules ?? [], "", "secrets", "get", "sops-age")).toBe(false);
    expect(allows(records?.rules ?? [], "", "secrets", "update", "prometheus-tkg-system-values")).toBe(false);
  });
});
