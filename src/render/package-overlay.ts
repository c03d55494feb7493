/**
 * The ytt overlay promfleet attaches to the PackageInstall: credentials, CA, web config, reloader, ingress
 * and NetworkPolicy.
 */
import path from "node:path";
import type { ClusterSpec, FleetSpec } from "../fleet/spec.js";

/**
 * What the package's values cannot express (volumes, mounts, the reload sidecar's credentials, probes)
 * goes into a ytt overlay that kapp-controller adds to the package's own templates: a Secret named by
 * the PackageInstall annotation `ext.packaging.carvel.dev/ytt-paths-from-secret-name.<n>`, the Carvel
 * way to extend a package.
 */
export const PACKAGE_OVERLAY_SECRET = "promfleet-package-overlay";
/** Holds, SOPS-encrypted, a ytt document creating promfleet-credentials in the monitoring namespace. */
export const CREDENTIALS_OVERLAY_SECRET = "promfleet-credentials-overlay";
/** The cluster's plaintext password (key `password`), in the monitoring namespace. */
export const CREDENTIALS_SECRET = "promfleet-credentials";
export const WEB_CONFIG_SECRET = "promfleet-web-config";
export const YTT_PATHS_ANNOTATION = "ext.packaging.carvel.dev/ytt-paths-from-secret-name";

export const MOUNTS = {
  credentialsDir: "/etc/promfleet/credentials",
  passwordFile: "/etc/promfleet/credentials/password",
  remoteWriteCaDir: "/etc/promfleet/remote-write-ca",
  remoteWriteCaFile: "/etc/promfleet/remote-write-ca/ca.crt",
  webConfigDir: "/etc/promfleet/web",
  webConfigFile: "/etc/promfleet/web/web-config.yml",
};

interface Mount {
  volume: string;
  path: string;
  /** The volume's source, as YAML lines indented for the volume entry. */
  source: string;
}

/**
 * A credential's user name, Secret and file alternate between two slots by the parity of its generation:
 * a Prometheus web config holds one hash per user, so during a rotation the previous credential stays
 * accepted under the other user name, and the cluster switches user and file in one config change.
 */
export function credentialSlot(cluster: string, generation: number) {
  const odd = generation % 2 === 1;
  return {
    username: odd ? `${cluster}.1` : cluster,
    secret: odd ? `${CREDENTIALS_SECRET}-1` : CREDENTIALS_SECRET,
    file: odd ? `${MOUNTS.passwordFile}-1` : MOUNTS.passwordFile,
  };
}

const secretSource = (name: string) => `        secret:\n          secretName: ${q(name)}\n`;

/** Both slots' Secrets, each optional, so a rotation never changes the pod spec (no restart). */
function credentialsSource(): string {
  const slot = (generation: number) => {
    const s = credentialSlot("", generation);
    return `          - secret:\n              name: ${q(s.secret)}\n              optional: true\n              items:\n              - key: password\n                path: ${q(path.basename(s.file))}\n`;
  };
  return `        projected:\n          sources:\n${slot(0)}${slot(1)}`;
}

/**
 * The package's configmap-reload can only POST /-/reload, which needs --web.enable-lifecycle (and so lets
 * anyone who reaches the port POST /-/quit) and, behind the web config, a credential in its URL — which it
 * then shows in a metric label on its own port. Prometheus also reloads on SIGHUP, so unless the spec
 * asks for the article's full API without authentication, a sidecar that signals it replaces the reloader.
 */
export function reloadsBySignal(spec: FleetSpec): boolean {
  return !spec.exposeFullApi || spec.remoteWrite.auth === "basic";
}

/** The aggregator's ingress and network surface are narrowed unless the spec says exposeFullApi. */
function narrowsSurface(spec: FleetSpec, cluster: ClusterSpec): boolean {
  return cluster.role === "aggregator" && !spec.exposeFullApi;
}

export function needsPackageOverlay(spec: FleetSpec, cluster: ClusterSpec): boolean {
  return mounts(spec, cluster).length > 0 || reloadsBySignal(spec);
}

function mounts(spec: FleetSpec, cluster: ClusterSpec): Mount[] {
  const list: Mount[] = [];
  if (spec.remoteWrite.auth === "basic")
    list.push({ volume: "promfleet-credentials", source: credentialsSource(), path: MOUNTS.credentialsDir });
  if (cluster.role === "agent" && spec.remoteWrite.caSecret && !spec.remoteWrite.insecureSkipVerify)
    list.push({
      volume: "promfleet-remote-write-ca",
      source: secretSource(spec.remoteWrite.caSecret),
      path: MOUNTS.remoteWriteCaDir,
    });
  if (cluster.role === "aggregator" && spec.remoteWrite.auth === "basic")
    list.push({
      volume: "promfleet-web-config",
      source: secretSource(WEB_CONFIG_SECRET),
      path: MOUNTS.webConfigDir,
    });
  return list;
}

/** The ytt files of the package overlay Secret, by file name. */
export function packageOverlayFiles(spec: FleetSpec, cluster: ClusterSpec): Record<string, string> {
  const files: Record<string, string> = { "promfleet-overlay.yaml": deploymentOverlay(spec, cluster) };
  if (cluster.role === "aggregator" && spec.remoteWrite.auth === "basic")
    files["promfleet-web-config.yaml"] = webConfigSecret(spec);
  if (narrowsSurface(spec, cluster)) {
    files["promfleet-ingress.yaml"] = INGRESS_OVERLAY;
    files["promfleet-network-policy.yaml"] = networkPolicy(spec, cluster);
  }
  return files;
}

const q = (s: string) => JSON.stringify(s);

function deploymentOverlay(spec: FleetSpec, cluster: ClusterSpec): string {
  const list = mounts(spec, cluster);
  const volumeMounts = list
    .map(
      (m) =>
        `        #@overlay/append\n        - name: ${q(m.volume)}\n          mountPath: ${q(m.path)}\n          readOnly: true\n`,
    )
    .join("");
  const volumes = list
    .map((m) => `      #@overlay/append\n      - name: ${q(m.volume)}\n${m.source}`)
    .join("");
  const webAuth = cluster.role === "aggregator" && spec.remoteWrite.auth === "basic";
  const signal = reloadsBySignal(spec);
  return `#! Generated by promfleet: mounts the Secrets this cluster's Prometheus reads${signal ? " and reloads its config by signal" : ""}.
#@ load("@ytt:overlay", "overlay")
#@overlay/match by=overlay.subset({"kind": "Deployment", "metadata": {"name": "prometheus-server"}})
---
spec:
  template:
    spec:
${signal ? "      #@overlay/match missing_ok=True\n      shareProcessNamespace: true\n" : ""}      containers:
      #@overlay/match by="name"
      - name: prometheus-server
${volumeMounts ? `        #@overlay/match missing_ok=True\n        volumeMounts:\n${volumeMounts}` : ""}${webAuth ? tcpProbes() : ""}${signal ? signalReloader() : ""}${volumes ? `      #@overlay/match missing_ok=True\n      volumes:\n${volumes}` : ""}`;
}

/** /-/ready and /-/healthy sit behind basic auth once the web config is on; the port still tells. */
function tcpProbes(): string {
  const probe = (name: string, period: number, timeout: number) =>
    `        #@overlay/replace or_add=True\n        ${name}:\n          tcpSocket:\n            port: 9090\n          initialDelaySeconds: 30\n          periodSeconds: ${period}\n          timeoutSeconds: ${timeout}\n          failureThreshold: 3\n`;
  return probe("readinessProbe", 5, 4) + probe("livenessProbe", 15, 10);
}

/** busybox: a shell, md5sum and pkill; the sidecar listens on no port and holds no credential. */
export const RELOADER_IMAGE = "busybox:1.36.1";

/**
 * Sends Prometheus SIGHUP when a file of its ConfigMap changes (the pod shares one process namespace and
 * both containers run as the package's user 65534, so no capability is needed).
 */
export const RELOADER_SCRIPT =
  // Backquotes, not $(...): Kubernetes would read $(name) in a command as a variable reference.
  "sum() { cat /etc/config/* | md5sum; }; last=`sum`; " +
  "while sleep 15; do now=`sum`; " +
  'if [ "$now" != "$last" ] && pkill -HUP -x prometheus; then last="$now"; fi; done';

function signalReloader(): string {
  return `      #@overlay/match by="name"
      #@overlay/replace
      - name: prometheus-server-configmap-reload
        image: ${q(RELOADER_IMAGE)}
        command:
        - /bin/sh
        - -c
        - ${q(RELOADER_SCRIPT)}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
        volumeMounts:
        - name: config-volume
          mountPath: /etc/config
          readOnly: true
`;
}

/**
 * Agents need remote write; \`promfleet verify\` needs instant queries. Everything else of the package's
 * ingress (Prometheus' UI and admin API under /, an unauthenticated Alertmanager under /alertmanager/)
 * is not routed.
 */
const INGRESS_OVERLAY = `#! Generated by promfleet: the aggregator's ingress routes remote write and queries only.
#@ load("@ytt:data", "data")
#@ load("@ytt:overlay", "overlay")
#@ def route(prefix):
conditions:
- prefix: #@ prefix
services:
- name: prometheus-server
  port: #@ data.values.ingress.prometheusServicePort
#@ end
#@overlay/match by=overlay.subset({"kind": "HTTPProxy", "metadata": {"name": "prometheus-httpproxy"}}), expects="0+"
---
spec:
  #@overlay/replace
  routes:
  - #@ route("/api/v1/write")
  - #@ route("/api/v1/query")
`;

/** Only the ingress controller reaches Prometheus' port; its own scrape and reloads stay inside the pod. */
function networkPolicy(spec: FleetSpec, cluster: ClusterSpec): string {
  return `#! Generated by promfleet: only the ingress controller may connect to the aggregator's Prometheus.
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: promfleet-prometheus-server
  namespace: ${q(spec.package.monitoringNamespace)}
spec:
  podSelector:
    matchLabels:
      app: prometheus
      component: server
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: ${q(cluster.ingressControllerNamespace)}
    ports:
    - protocol: TCP
      port: 9090
`;
}

/** A cluster's current credential and, while a rotation rolls out, its previous one under the other slot. */
function webConfigUsers(c: ClusterSpec): string[] {
  const user = (generation: number, hash: string) =>
    `      ${q(credentialSlot(c.name, generation).username)}: ${q(hash)}\n`;
  return [
    ...(c.passwordHash ? [user(c.credentialGeneration, c.passwordHash)] : []),
    ...(c.previousPasswordHash ? [user(c.credentialGeneration + 1, c.previousPasswordHash)] : []),
  ];
}

/** The aggregator's web config: every enrolled cluster's bcrypt hash, nothing in plaintext. */
function webConfigSecret(spec: FleetSpec): string {
  const users = spec.clusters.flatMap(webConfigUsers).join("");
  return `#! Generated by promfleet: the clusters allowed to write to (and read from) the aggregator.
---
apiVersion: v1
kind: Secret
metadata:
  name: ${q(WEB_CONFIG_SECRET)}
  namespace: ${q(spec.package.monitoringNamespace)}
type: Opaque
stringData:
  web-config.yml: |
    basic_auth_users:
${users}`;
}
