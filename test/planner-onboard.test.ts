import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { pullText, readSpec, specDiff, type SpecSource } from "../src/commands/cluster-change.js";
import type { BaseSnapshot } from "../src/github/base-snapshot.js";
import { planOffboard } from "../src/commands/offboard.js";
import { planOnboard, type OnboardRequest } from "../src/commands/onboard.js";
import { PromfleetError } from "../src/util/errors.js";
import { exampleFleetRepo, promfleet, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

/** Every file under `dir` with its content and mtime: what "nothing was written" is checked against. */
async function treeState(dir: string, rel = "."): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = path.join(rel, e.name);
    if (e.isDirectory()) for (const [k, v] of await treeState(dir, child)) state.set(k, v);
    else {
      const full = path.join(dir, child);
      state.set(child, `${(await stat(full)).mtimeMs} ${await readFile(full, "utf8")}`);
    }
  }
  return state;
}

const agent = (name: string, extra: Partial<OnboardRequest> = {}): OnboardRequest => ({
  name,
  role: "agent",
  overlays: [],
  values: {},
  ...extra,
});

async function planError(run: () => Promise<unknown>): Promise<PromfleetError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromfleetError);
  return error as PromfleetError;
}

describe("planOnboard (no CLI)", () => {
  let dir: string;
  let source: SpecSource;
  beforeAll(async () => {
    dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    source = await readSpec(dir, "fleet.yaml");
  });

  it("returns the new spec, every file to write and the PR context, and writes nothing", async () => {
    const before = await treeState(dir);
    const text = source.text;
    const plan = await planOnboard({
      source,
      request: agent("edge-1", { values: { "prometheus.pvc.storage": "2Gi" } }),
    });
    expect(source.text).toBe(text);
    expect(await treeState(dir)).toEqual(before);

    // appended after the last entry, with the blank line that separates the example's entries
    expect(plan.specAfter).toBe(
      `${text}\n  - name: edge-1\n    role: agent\n    values:\n      prometheus.pvc.storage: 2Gi\n`,
    );
    expect(specDiff(plan.specBefore, plan.specAfter)).toBe("fleet spec: +5 -0 lines");
    expect(plan.listing).toEqual({
      added: [
        "clusters/edge-1/.promfleet-render.yaml",
        "clusters/edge-1/bootstrap/app.yaml",
        "clusters/edge-1/manifests/package-install.yaml",
        "clusters/edge-1/manifests/rbac.yaml",
        "clusters/edge-1/manifests/values-secret.yaml",
        "clusters/edge-1/values.yaml",
      ],
      modified: ["fleet.yaml"],
      removed: [],
    });
    const values = plan.changes.find((c) => c.path === "clusters/edge-1/values.yaml");
    expect(values?.kind === "write" && parse(values.content).prometheus.pvc.storage).toBe("2Gi");
    expect(plan.template.bootstrap).toBe(
      "kubectl --context edge-1 apply -f clusters/edge-1/bootstrap/app.yaml",
    );
    expect(plan.local).toEqual([]); // auth none: no credential
    expect(plan.alreadyDone).toBeUndefined();
  });

  it("an existing agent asked for nothing new is already done; asked for a --set it lacks, exit 2", async () => {
    const done = await planOnboard({ source, request: agent("kind") });
    expect(done.alreadyDone).toBe(
      "already done: cluster kind is already in the fleet (fleet.yaml); nothing to do",
    );
    expect(done.changes).toEqual([]);

    const refused = await planError(() =>
      planOnboard({ source, request: agent("kind", { values: { "prometheus.pvc.storage": "2Gi" } }) }),
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.message).toContain('--set prometheus.pvc.storage="2Gi" not applied');
    expect(refused.problems[0]).toMatchObject({ file: "fleet.yaml", path: "clusters[1]" });
    expect(refused.problems[0]?.fix).toContain(
      "edit clusters[1].overlays / clusters[1].values in fleet.yaml",
    );
  });

  it("the aggregator's name is refused as the aggregator, exit 2", async () => {
    const e = await planError(() => planOnboard({ source, request: agent("orbstack") }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("orbstack is already the fleet's aggregator; onboard-cluster adds agents");
  });
});

describe("planOnboard with authentication (no CLI)", () => {
  it("puts the given credential's hash in the spec and its password in a local file only", async () => {
    const secure = await secureFleetRepo();
    expect((await promfleet(secure.dir, ["render"])).code).toBe(0);
    const source = await readSpec(secure.dir, "fleet.yaml");
    const password = "a-password-chosen-by-the-test";
    const passwordHash = bcrypt.hashSync(password, 4);
    const plan = await planOnboard({
      source,
      request: agent("edge-1"),
      credential: { kind: "new", credential: { password, passwordHash } },
    });
    expect(parse(plan.specAfter).clusters.at(-1).credential).toEqual({ passwordHash });
    expect(plan.local).toEqual([
      { kind: "write", path: ".promfleet/credentials/edge-1.password", content: password, mode: "100644" },
    ]);
    for (const c of plan.changes) expect(c.kind === "write" ? c.content : "").not.toContain(password);
    expect(plan.nextSteps[0]).toContain("--from-file=password=.promfleet/credentials/edge-1.password");
  });

  it("tells a Flux cluster to create its age key Secret before the bootstrap, a kapp-controller one after", async () => {
    const secure = await secureFleetRepo({ agents: [], sops: true });
    const base = { dir: secure.dir } as BaseSnapshot; // pullText reads only the templates under dir
    const headings = async (delivery: string) => {
      const spec = (await readSpec(secure.dir, "fleet.yaml")).text.replace(
        "clusters:",
        `delivery: ${delivery}\nclusters:`,
      );
      await writeRepoFile(secure.dir, "fleet.yaml", spec);
      const plan = await planOnboard({
        source: await readSpec(secure.dir, "fleet.yaml"),
        request: agent("edge-1"),
        credential: { kind: "new", credential: { password: "p", passwordHash: bcrypt.hashSync("p", 4) } },
      });
      const { body } = await pullText(plan, base);
      await writeRepoFile(secure.dir, "fleet.yaml", spec.replace(`delivery: ${delivery}\n`, ""));
      return body.split("\n").filter((l) => l.startsWith("### ") || l.includes("sops-age"));
    };
    expect(await headings("flux")).toEqual([
      "### Files",
      "### Its credential, before the bootstrap",
      expect.stringContaining("kubectl --context edge-1 -n flux-system create secret generic sops-age"),
      "### Bootstrap the new cluster, once",
      "### Confirm that its metrics arrive",
    ]);
    expect(await headings("kapp-controller")).toEqual([
      "### Files",
      "### Bootstrap the new cluster, once",
      "### Its credential",
      expect.stringContaining("kubectl --context edge-1 -n tkg-system create secret generic sops-age"),
      "### Confirm that its metrics arrive",
    ]);
  });
});

describe("planOffboard (no CLI)", () => {
  it("lists the cluster's files as removed and the spec as modified, and writes nothing", async () => {
    const dir = await exampleFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    await writeRepoFile(dir, ".promfleet/credentials/kind.password", "x");
    const source = await readSpec(dir, "fleet.yaml");
    const before = await treeState(dir);
    const plan = await planOffboard({ source, name: "kind", localPassword: true });
    expect(await treeState(dir)).toEqual(before);
    expect(plan.listing).toEqual({
      added: [],
      modified: ["fleet.yaml"],
      removed: [
        "clusters/kind/.promfleet-render.yaml",
        "clusters/kind/bootstrap/app.yaml",
        "clusters/kind/manifests/package-install.yaml",
        "clusters/kind/manifests/rbac.yaml",
        "clusters/kind/manifests/values-secret.yaml",
        "clusters/kind/values.yaml",
      ],
    });
    expect(plan.local).toEqual([{ kind: "delete", path: ".promfleet/credentials/kind.password" }]);
    expect(parse(plan.specAfter).clusters.map((c: { name: string }) => c.name)).toEqual(["orbstack"]);
    // the entry's 5 lines, its comment lines included, and the blank line before it
    expect(specDiff(plan.specBefore, plan.specAfter)).toBe("fleet spec: +0 -7 lines");
    const [deleteApp, ...cleanUp] = String(plan.template.teardown).split("\n");
    expect(deleteApp).toBe("kubectl --context kind -n tkg-system delete app promfleet-kind");
    // then everything else the bootstrap a person applied created, namespaces excepted
    const bootstrap = parseAllDocuments(
      await readFile(path.join(dir, "clusters/kind/bootstrap/app.yaml"), "utf8"),
    )
      .map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } })
      .filter((r) => r.kind !== "Namespace" && r.kind !== "App");
    expect(bootstrap.length).toBeGreaterThan(0);
    const deleted = cleanUp.flatMap((line) => {
      const m = /^kubectl --context kind (?:-n (\S+) )?delete --ignore-not-found (.+)$/.exec(line);
      expect(m, line).not.toBeNull();
      return (m?.[2] ?? "").split(" ").map((ref) => `${m?.[1] ?? ""}/${ref}`);
    });
    expect(deleted.sort()).toEqual(
      bootstrap.map((r) => `${r.metadata.namespace ?? ""}/${r.kind.toLowerCase()}/${r.metadata.name}`).sort(),
    );

    const typo = await planError(() => planOffboard({ source, name: "kindd", localPassword: false }));
    expect(typo.exitCode).toBe(2);
    expect(typo.message).toBe("no such cluster kindd in fleet.yaml");
    expect(typo.problems[0]?.fix).toBe("did you mean kind? The fleet has: orbstack, kind");
  });
});
