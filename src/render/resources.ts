/**
 * The Kubernetes resources of a cluster's folder: PackageInstall, values Secret, RBAC, App or Flux objects.
 */
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";
import {
  CREDENTIALS_OVERLAY_SECRET,
  PACKAGE_OVERLAY_SECRET,
  YTT_PATHS_ANNOTATION,
} from "./package-overlay.js";

/**
 * The Kubernetes resources of one cluster folder. Names follow what `tanzu package install` creates
 * (prometheus-<namespace>-sa, -values), so an install made by hand can be adopted.
 */
type Resource = Record<string, unknown>;

const APP_SERVICE_ACCOUNT = "promfleet-app";
/** Secret holding the age private key the cluster decrypts SOPS files with (created at bootstrap). */
export const SOPS_AGE_SECRET = "sops-age";

export function installNames(spec: FleetSpec) {
  const prefix = `prometheus-${spec.package.namespace}`;
  return {
    install: "prometheus",
    serviceAccount: `${prefix}-sa`,
    secret: `${prefix}-values`,
    binding: `${prefix}-cluster-admin`,
  };
}

function labels(cluster: ClusterSpec): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "promfleet",
    "promfleet.dev/cluster": cluster.name,
    "promfleet.dev/role": cluster.role,
  };
}

function clusterAdminBinding(name: string, serviceAccount: string, namespace: string): Resource {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
  };
}

function serviceAccount(name: string, namespace: string): Resource {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } };
}

/** The package creates ClusterRoles and namespaces, which only a cluster admin may grant (as the tanzu CLI does). */
export function installRbac(spec: FleetSpec): Resource[] {
  const n = installNames(spec);
  const ns = spec.package.namespace;
  return [serviceAccount(n.serviceAccount, ns), clusterAdminBinding(n.binding, n.serviceAccount, ns)];
}

type Rule =
  | { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }
  | { nonResourceURLs: string[]; verbs: string[] };

const MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"];
/** Kubernetes cannot limit `create` (or list) by name: granted by kind, everything else by name. */
const CREATE_AND_LIST = ["create", "list", "watch"];
const CHANGE_BY_NAME = ["get", "update", "patch", "delete"];
/**
 * The package's ClusterRoles and ClusterRoleBindings (each pair shares its name), checked against the
 * bundle by test/security-rbac.test.ts: the install may change or delete these, no others.
 */
const PACKAGE_CLUSTER_RBAC = [
  "alertmanager",
  "prometheus-kube-state-metrics",
  "prometheus-node-exporter",
  "prometheus-pushgateway",
  "prometheus-server",
];
const INSTALL_ROLE = "promfleet-prometheus-install";
const APP_ROLE = "promfleet-app";

/**
 * What the package renders (checked against the bundle by test/security-rbac.test.ts): cluster-scoped
 * kinds here, namespaced ones in the monitoring namespace only. Kubernetes lets a ClusterRole be created
 * or bound only by someone holding its permissions, so the install also holds what the package's
 * ClusterRoles grant (read access for Prometheus and kube-state-metrics, PodSecurityPolicy use).
 */
const installClusterRules = (monitoringNamespace: string): Rule[] => [
  { apiGroups: [""], resources: ["namespaces"], verbs: CREATE_AND_LIST },
  { apiGroups: [""], resources: ["namespaces"], resourceNames: [monitoringNamespace], verbs: CHANGE_BY_NAME },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["clusterroles", "clusterrolebindings"],
    verbs: CREATE_AND_LIST,
  },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["clusterroles", "clusterrolebindings"],
    resourceNames: PACKAGE_CLUSTER_RBAC,
    verbs: CHANGE_BY_NAME,
  },
  { apiGroups: ["policy"], resources: ["podsecuritypolicies"], verbs: [...MANAGE, "use"] },
  {
    apiGroups: [""],
    resources: [
      "configmaps",
      "endpoints",
      "limitranges",
      "namespaces",
      "nodes",
      "nodes/metrics",
      "nodes/proxy",
      "persistentvolumeclaims",
      "persistentvolumes",
      "pods",
      "replicationcontrollers",
      "resourcequotas",
      "services",
      "ingresses",
    ],
    verbs: ["get", "list", "watch"],
  },
  // kube-state-metrics lists Secrets (their metadata as metrics); no ClusterRole of the package gets one
  { apiGroups: [""], resources: ["secrets"], verbs: ["list", "watch"] },
  {
    apiGroups: ["apps", "extensions"],
    resources: ["daemonsets", "deployments", "ingresses", "replicasets", "statefulsets"],
    verbs: ["get", "list", "watch"],
  },
  { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["list", "watch"] },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: ["list", "watch"] },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["list", "watch"] },
  {
    apiGroups: ["storage.k8s.io"],
    resources: ["storageclasses", "volumeattachments"],
    verbs: ["list", "watch"],
  },
  { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests"], verbs: ["list", "watch"] },
  {
    apiGroups: ["networking.k8s.io", "extensions"],
    resources: ["networkpolicies", "ingresses", "ingresses/status"],
    verbs: ["get", "list", "watch"],
  },
  {
    apiGroups: ["admissionregistration.k8s.io"],
    resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"],
    verbs: ["list", "watch"],
  },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["list", "watch"] },
  { nonResourceURLs: ["/metrics"], verbs: ["get"] },
];

const INSTALL_NAMESPACED_RULES: Rule[] = [
  {
    apiGroups: [""],
    resources: ["configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims"],
    verbs: MANAGE,
  },
  { apiGroups: ["apps"], resources: ["deployments", "daemonsets"], verbs: MANAGE },
  { apiGroups: ["cert-manager.io"], resources: ["certificates", "issuers"], verbs: MANAGE },
  { apiGroups: ["projectcontour.io"], resources: ["httpproxies"], verbs: MANAGE },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: MANAGE },
];

/** kapp keeps its records of what it deployed in ConfigMaps in the App's namespace. */
const KAPP_RECORDS: Rule = { apiGroups: [""], resources: ["configmaps"], verbs: MANAGE };

/** The delivery applies clusters/<name>/manifests (PackageInstall, Secrets). */
const DELIVERY_RULES: Rule[] = [
  { apiGroups: ["packaging.carvel.dev"], resources: ["packageinstalls"], verbs: MANAGE },
  { apiGroups: [""], resources: ["secrets"], verbs: MANAGE },
  KAPP_RECORDS,
];

function role(kind: "Role" | "ClusterRole", name: string, rules: Rule[], namespace?: string): Resource {
  const metadata = namespace ? { name, namespace } : { name };
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind, metadata, rules };
}

function binding(
  kind: "RoleBinding" | "ClusterRoleBinding",
  roleName: string,
  subject: { name: string; namespace: string },
  namespace?: string,
  name = roleName,
): Resource {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: namespace ? { name, namespace } : { name },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: kind === "RoleBinding" ? "Role" : "ClusterRole",
      name: roleName,
    },
    subjects: [{ kind: "ServiceAccount", ...subject }],
  };
}

/**
 * least-privilege: the install's service account and rights, applied once by a person (bootstrap), so
 * nothing in Git can widen them: cluster-scoped kinds and read access cluster-wide, everything else in
 * the monitoring namespace (created here so its Role can exist before the package runs), and kapp's
 * records in the package namespace.
 */
function leastPrivilegeInstallRbac(spec: FleetSpec): Resource[] {
  const n = installNames(spec);
  const sa = { name: n.serviceAccount, namespace: spec.package.namespace };
  const mon = spec.package.monitoringNamespace;
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: mon } },
    serviceAccount(n.serviceAccount, spec.package.namespace),
    role("ClusterRole", INSTALL_ROLE, installClusterRules(mon)),
    binding("ClusterRoleBinding", INSTALL_ROLE, sa),
    role("Role", INSTALL_ROLE, INSTALL_NAMESPACED_RULES, mon),
    binding("RoleBinding", INSTALL_ROLE, sa, mon),
    // records only: the package namespace holds the values Secrets and the SOPS key, none of the install's business
    role("Role", `${INSTALL_ROLE}-records`, [KAPP_RECORDS], spec.package.namespace),
    binding("RoleBinding", `${INSTALL_ROLE}-records`, sa, spec.package.namespace),
  ];
}

/** The delivery's service account, allowed into the package namespace only (or, by default, cluster-admin). */
function deliveryRbac(spec: FleetSpec, saNamespace: string): Resource[] {
  const sa = { name: APP_SERVICE_ACCOUNT, namespace: saNamespace };
  if (spec.rbac === "cluster-admin")
    // The App deploys a cluster-admin binding (manifests/rbac.yaml), so it needs cluster-admin itself.
    return [clusterAdminBinding(`${APP_SERVICE_ACCOUNT}-${saNamespace}`, APP_SERVICE_ACCOUNT, saNamespace)];
  return [
    role("Role", APP_ROLE, DELIVERY_RULES, spec.package.namespace),
    binding("RoleBinding", APP_ROLE, sa, spec.package.namespace, `${APP_ROLE}-${saNamespace}`),
    ...leastPrivilegeInstallRbac(spec),
  ];
}

/** kapp-controller turns every key of this Secret into a data-values file: it holds the values only. */
export function valuesSecret(spec: FleetSpec, valuesText: string): Resource {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: installNames(spec).secret, namespace: spec.package.namespace },
    type: "Opaque",
    stringData: { "values.yaml": valuesText },
  };
}

/** Secrets whose ytt files kapp-controller adds to the package's templates, in order. */
export function packageOverlaySecrets(spec: FleetSpec, withPackageOverlay: boolean): string[] {
  const secrets = withPackageOverlay ? [PACKAGE_OVERLAY_SECRET] : [];
  if (spec.remoteWrite.auth === "basic" && spec.secrets.provider === "sops")
    secrets.push(CREDENTIALS_OVERLAY_SECRET);
  return secrets;
}

export function packageInstall(
  spec: FleetSpec,
  cluster: ClusterSpec,
  overlaySecrets: string[] = [],
): Resource {
  const n = installNames(spec);
  const metadata: Record<string, unknown> = {
    name: n.install,
    namespace: spec.package.namespace,
    labels: labels(cluster),
  };
  if (overlaySecrets.length > 0)
    metadata.annotations = Object.fromEntries(
      overlaySecrets.map((name, i) => [`${YTT_PATHS_ANNOTATION}.${i}`, name]),
    );
  return {
    apiVersion: "packaging.carvel.dev/v1alpha1",
    kind: "PackageInstall",
    metadata,
    spec: {
      serviceAccountName: n.serviceAccount,
      packageRef: {
        refName: spec.package.refName,
        versionSelection: { constraints: cluster.packageVersion ?? spec.package.version },
      },
      values: [{ secretRef: { name: n.secret } }],
    },
  };
}

/** The one manifest a person applies per cluster: an App that keeps clusters/<name>/manifests deployed. */
export function bootstrapApp(spec: FleetSpec, cluster: ClusterSpec): Resource[] {
  const ns = spec.package.namespace;
  const git: Record<string, unknown> = {
    url: spec.git.url,
    ref: `origin/${spec.git.branch}`,
    subPath: `clusters/${cluster.name}/manifests`,
  };
  if (spec.git.secretName) git.secretRef = { name: spec.git.secretName };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    serviceAccount(APP_SERVICE_ACCOUNT, ns),
    ...deliveryRbac(spec, ns),
    {
      apiVersion: "kappctrl.k14s.io/v1alpha1",
      kind: "App",
      metadata: { name: `promfleet-${cluster.name}`, namespace: ns, labels: labels(cluster) },
      spec: {
        serviceAccountName: APP_SERVICE_ACCOUNT,
        syncPeriod: spec.app.syncPeriod,
        fetch: [{ git }],
        template:
          spec.secrets.provider === "sops"
            ? [{ sops: { age: { privateKeysSecretRef: { name: SOPS_AGE_SECRET } } } }, { ytt: {} }]
            : [{ ytt: {} }],
        deploy: [{ kapp: {} }],
      },
    },
  ];
}

/** Flux builds clusters/<name>/ with kustomize; this lists the manifests (never values.yaml or bootstrap/). */
export function kustomization(manifests: string[]): Resource {
  return { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: manifests };
}

/** Holds this cluster's package overlay files (see package-overlay.ts). */
export function packageOverlaySecret(spec: FleetSpec, files: Record<string, string>): Resource {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: PACKAGE_OVERLAY_SECRET, namespace: spec.package.namespace },
    type: "Opaque",
    stringData: files,
  };
}

/** kstatus cannot read PackageInstall conditions; Flux evaluates these CEL expressions instead. */
const PACKAGE_INSTALL_HEALTH = {
  apiVersion: "packaging.carvel.dev/v1alpha1",
  kind: "PackageInstall",
  current: "status.conditions.exists(c, c.type == 'ReconcileSucceeded' && c.status == 'True')",
  failed: "status.conditions.exists(c, c.type == 'ReconcileFailed' && c.status == 'True')",
};

/** Flux's bootstrap for one cluster: applied once, it keeps clusters/<name>/ applied and pruned. */
export function bootstrapFlux(spec: FleetSpec, cluster: ClusterSpec): Resource[] {
  const ns = spec.flux.namespace;
  const n = installNames(spec);
  const source: Record<string, unknown> = {
    url: spec.git.url,
    ref: { branch: spec.git.branch },
    interval: "1m",
  };
  if (spec.git.secretName) source.secretRef = { name: spec.git.secretName };
  return [
    // The PackageInstall's namespace must exist before Flux applies into it; created here, never pruned.
    { apiVersion: "v1", kind: "Namespace", metadata: { name: spec.package.namespace } },
    ...(spec.rbac === "least-privilege"
      ? [serviceAccount(APP_SERVICE_ACCOUNT, ns), ...deliveryRbac(spec, ns)]
      : []),
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "promfleet", namespace: ns },
      spec: source,
    },
    {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: `promfleet-${cluster.name}`, namespace: ns, labels: labels(cluster) },
      spec: {
        interval: spec.flux.interval,
        retryInterval: "2m",
        timeout: "10m",
        path: `./clusters/${cluster.name}`,
        prune: true,
        sourceRef: { kind: "GitRepository", name: "promfleet" },
        healthChecks: [
          {
            apiVersion: PACKAGE_INSTALL_HEALTH.apiVersion,
            kind: "PackageInstall",
            name: n.install,
            namespace: spec.package.namespace,
          },
        ],
        healthCheckExprs: [PACKAGE_INSTALL_HEALTH],
        // Flux applies as this service account instead of kustomize-controller's own (cluster-admin).
        ...(spec.rbac === "least-privilege" ? { serviceAccountName: APP_SERVICE_ACCOUNT } : {}),
        ...(spec.secrets.provider === "sops"
          ? { decryption: { provider: "sops", secretRef: { name: SOPS_AGE_SECRET } } }
          : {}),
      },
    },
  ];
}
