import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { findYtt } from "../../src/ytt/ytt.js";
import { fixturesDir, readRepoFile } from "./fleet-repo.js";
import { parseDocs } from "./values.js";

export const bundleConfig = path.join(fixturesDir, "tce-prometheus-package-2.37.0", "bundle", "config");

/**
 * Renders a cluster's values plus its package overlay Secret's files through the package bundle with real
 * ytt, as kapp-controller does for a PackageInstall with the ytt-paths-from-secret-name annotation.
 */
export async function renderThroughPackage(
  dir: string,
  cluster: string,
): Promise<Array<Record<string, unknown>>> {
  const overlayDir = await mkdtemp(path.join(os.tmpdir(), "promfleet-pkg-overlay-"));
  const [secret] = parseDocs(await readRepoFile(dir, `clusters/${cluster}/manifests/package-overlay.yaml`));
  for (const [name, text] of Object.entries(secret?.stringData as Record<string, string>))
    await writeFile(path.join(overlayDir, name), text);
  const ytt = await findYtt();
  const values = path.join(dir, "clusters", cluster, "values.yaml");
  const { stdout } = await execa(ytt.path, [
    "-f",
    bundleConfig,
    "-f",
    overlayDir,
    "--data-values-file",
    values,
  ]);
  return parseDocs(stdout);
}

export type Container = {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: unknown[];
  ports?: unknown[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
  readinessProbe: Record<string, unknown>;
};

export type PodSpec = {
  containers: Container[];
  shareProcessNamespace?: boolean;
  volumes: Array<{ name: string; secret?: { secretName: string }; [k: string]: unknown }>;
};

export function findDoc(
  docs: Array<Record<string, unknown>>,
  kind: string,
  name: string,
): Record<string, unknown> | undefined {
  return docs.find((d) => d.kind === kind && (d.metadata as { name: string }).name === name);
}

/** The prometheus-server Deployment's pod and its two containers. */
export function serverPod(docs: Array<Record<string, unknown>>) {
  const deployment = findDoc(docs, "Deployment", "prometheus-server") as {
    spec: { template: { spec: PodSpec } };
  };
  const pod = deployment.spec.template.spec;
  const container = (name: string) => pod.containers.find((c) => c.name === name) as Container;
  return {
    pod,
    server: container("prometheus-server"),
    reload: container("prometheus-server-configmap-reload"),
  };
}
