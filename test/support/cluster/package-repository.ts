/**
 * The package repository stand-in. A real cluster gets `prometheus.tanzu.vmware.com` from the Tanzu
 * package repository (an imgpkg bundle in a registry). Here the harness serves the open-source package
 * bundle vendored at test/fixtures/tce-prometheus-package-2.37.0/bundle (Apache-2.0) from the local git
 * server and applies a PackageMetadata and a Package at the fleet's version whose template fetches it,
 * runs ytt, then kapp — as a package repository would deliver it. Two adaptations, in the Package's own
 * files (`tanzu/`), never in what promfleet renders:
 * - the bundle renders a policy/v1beta1 PodSecurityPolicy, which Kubernetes >= 1.25 no longer serves
 *   (kapp: "Expected to find kind 'policy/v1beta1/PodSecurityPolicy'"): a ytt overlay drops it;
 * - the open bundle installs into `prometheus`; the Tanzu package into `tanzu-system-monitoring`: a
 *   data-values file sets that default.
 * With ingress enabled (the aggregator) the package renders a Contour HTTPProxy and cert-manager
 * Certificates and Issuers, which a TKG cluster has controllers for; here only their kinds are registered
 * (schemaless CRDs, `ingressStackCrds`), nothing serves the ingress.
 */
import { cp, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { fixturesDir } from "../../helpers/fleet-repo.js";

export const PACKAGE_REF = "prometheus.tanzu.vmware.com";
/** Package and PackageMetadata live here: kapp-controller makes them visible in every namespace. */
export const GLOBAL_PACKAGING_NAMESPACE = "kapp-controller-packaging-global";

const TANZU_DEFAULTS = `#@data/values
---
namespace: tanzu-system-monitoring
`;

const DROP_PSP = `#@ load("@ytt:overlay", "overlay")
#@overlay/match by=overlay.subset({"kind": "PodSecurityPolicy"}), expects="0+"
#@overlay/remove
---
`;

async function git(dir: string, args: string[]): Promise<void> {
  await execa("git", ["-C", dir, ...args], {
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@localhost",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@localhost",
    },
  });
}

/** Writes `<root>/package.git`: the bundle plus the Package's adaptations, on branch main. */
export async function createPackageRepo(root: string, work: string): Promise<string> {
  const tree = path.join(work, "package-src");
  await cp(path.join(fixturesDir, "tce-prometheus-package-2.37.0"), tree, { recursive: true });
  await mkdir(path.join(tree, "bundle", "tanzu"), { recursive: true });
  await writeFile(path.join(tree, "bundle", "tanzu", "tanzu-defaults.yaml"), TANZU_DEFAULTS);
  await writeFile(path.join(tree, "bundle", "tanzu", "drop-pod-security-policy.yaml"), DROP_PSP);
  await git(tree, ["init", "-q", "-b", "main"]);
  await git(tree, ["add", "-A"]);
  await git(tree, ["commit", "-q", "-m", "prometheus package bundle"]);
  const bare = path.join(root, "package.git");
  await execa("git", ["clone", "-q", "--bare", tree, bare]);
  return bare;
}

export function packageObjects(version: string, repoUrl: string): string {
  return `apiVersion: data.packaging.carvel.dev/v1alpha1
kind: PackageMetadata
metadata: { name: ${PACKAGE_REF}, namespace: ${GLOBAL_PACKAGING_NAMESPACE} }
spec:
  displayName: prometheus
  shortDescription: test stand-in for the Tanzu package (open-source bundle served from a local git server)
---
apiVersion: data.packaging.carvel.dev/v1alpha1
kind: Package
metadata: { name: "${PACKAGE_REF}.${version}", namespace: ${GLOBAL_PACKAGING_NAMESPACE} }
spec:
  refName: ${PACKAGE_REF}
  version: "${version}"
  template:
    spec:
      fetch:
      - git: { url: "${repoUrl}", ref: origin/main, subPath: bundle }
      template:
      - ytt: { paths: [config, tanzu] }
      deploy:
      # deletes check every 1s (kapp's default: 3s), like deploys through kapp-controller-config
      - kapp: { delete: { rawOptions: ["--wait-check-interval=1s"] } }
`;
}

const INGRESS_KINDS = [
  { group: "projectcontour.io", plural: "httpproxies", kind: "HTTPProxy" },
  { group: "cert-manager.io", plural: "certificates", kind: "Certificate" },
  { group: "cert-manager.io", plural: "issuers", kind: "Issuer" },
];

/** CRDs for the kinds the package's ingress renders (stand-ins for Contour's and cert-manager's). */
export function ingressStackCrds(): string {
  return INGRESS_KINDS.map(
    (k) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${k.plural}.${k.group} }
spec:
  group: ${k.group}
  scope: Namespaced
  names: { plural: ${k.plural}, singular: ${k.kind.toLowerCase()}, kind: ${k.kind} }
  versions:
  - name: v1
    served: true
    storage: true
    subresources: { status: {} }
    schema:
      openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`,
  ).join("---\n");
}
