/**
 * Issue 14, scenario 4: the same kind of fleet delivered by Flux. A real kube-apiserver with Flux's
 * source-controller and kustomize-controller v1.9.6 (and kapp-controller for the PackageInstall) pulls
 * the fleet repository from the local https git server; credentials are SOPS-encrypted for an age key
 * whose Secret is created with exactly the command promfleet prints.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import YAML from "yaml";
import { describeWith } from "./support/prerequisites.js";
import { clusterSkipReason, toolBinary } from "./support/cluster/tools.js";
import { World } from "./support/cluster/world.js";
import { FleetDriver } from "./support/cluster/fleet-driver.js";
import { waitFor } from "./support/cluster/wait.js";
import { FLUX_NAMESPACE } from "./support/cluster/flux.js";
import type { KubeObject } from "./support/cluster/kube-client.js";

const PACKAGE_VERSION = "2.43.0+vmware.2-tkg.1";
const CLUSTER = "hub";
const AGE_KEY_PLACEHOLDER = "<age key file>";

interface Condition {
  type: string;
  status: string;
  message?: string;
}
const ready = (o: KubeObject | undefined) =>
  ((o?.status?.conditions ?? []) as Condition[]).find((c) => c.type === "Ready");

describeWith(clusterSkipReason(), "rollout on a real kube-apiserver with Flux and SOPS", () => {
  let world: World | undefined;
  let fleet: FleetDriver;
  let failed = false;
  let ageKeyFile = "";

  beforeAll(async () => {
    world = await World.start();
    ageKeyFile = path.join(world.dir, "age-key.txt");
    await execa(toolBinary("age-keygen"), ["-o", ageKeyFile]);
    const recipient = (await execa(toolBinary("age-keygen"), ["-y", ageKeyFile])).stdout.trim();
    [fleet] = await Promise.all([
      FleetDriver.init(world, CLUSTER, ["--delivery", "flux", "--age-recipient", recipient]),
      world.addCluster(CLUSTER, "aggregator", PACKAGE_VERSION, { flux: true }),
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

  it("4. GitRepository and Kustomization Ready, the PackageInstall health check green, the credential decrypted in the cluster", async () => {
    const kube = (world as World).cluster(CLUSTER).kube;
    const checkout = await fleet.checkout();
    const bootstrap = `kubectl --context ${CLUSTER} apply -f clusters/${CLUSTER}/bootstrap/flux.yaml`;
    expect(await fleet.runPrinted(bootstrap, checkout)).toMatchObject({ code: 0 });
    const ageCommand = fleet.printed.find((c) => c.includes("sops-age"));
    expect(ageCommand).toContain(AGE_KEY_PLACEHOLDER);
    const created = await fleet.runPrinted((ageCommand as string).replace(AGE_KEY_PLACEHOLDER, ageKeyFile));
    expect(created.code, created.stderr).toBe(0);

    const gitRepository = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/gitrepositories/promfleet`;
    const kustomization = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/kustomizations/promfleet-${CLUSTER}`;
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
      1000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last Ready condition: ${JSON.stringify(last)}`);
    });
    const pi = await kube.get(
      "/apis/packaging.carvel.dev/v1alpha1/namespaces/tkg-system/packageinstalls/prometheus",
    );
    expect((pi?.status?.conditions as Condition[]).find((c) => c.status === "True")?.type).toBe(
      "ReconcileSucceeded",
    );

    // the credential: what sops decrypts from the repository with the age key is what the cluster holds
    const decrypted = await execa(
      toolBinary("sops"),
      ["-d", path.join(checkout, `clusters/${CLUSTER}/manifests/credentials.sops.yaml`)],
      {
        env: { SOPS_AGE_KEY_FILE: ageKeyFile },
      },
    );
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
    const encrypted = await readFile(
      path.join(checkout, `clusters/${CLUSTER}/manifests/credentials.sops.yaml`),
      "utf8",
    );
    for (const v of Object.values(plain.stringData)) expect(encrypted).not.toContain(v);
  }, 400_000);
});
