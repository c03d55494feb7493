/**
 * The npm package as a user gets it: `npm pack` of this checkout, installed from the tarball into an
 * empty folder (locally and globally), then promfleet's user path run from there.
 */
import { mkdir, mkdtemp, readdir, readFile, realpath } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { fixturesDir, repoRoot } from "./helpers/fleet-repo.js";
import { skipOrFail } from "./support/prerequisites.js";
import { INIT_FLAGS } from "./helpers/init.js";

/** Everything the package holds outside dist/ (dist/ is checked against the build below). */
const EXPECTED_FILES = [
  "LICENSE",
  "README.md",
  "bin/promfleet.js",
  "overlays/base/values.yaml",
  "overlays/roles/agent.yaml",
  "overlays/roles/aggregator.yaml",
  "package.json",
  "scripts/install-release-tools.sh",
  "scripts/install-tools.sh",
  "templates/init/README.md",
  "templates/init/workflows/on-merge.yml",
  "templates/init/workflows/pr-comment.yml",
  "templates/init/workflows/pr-review.yml",
  "templates/pr/offboard-body.hbs",
  "templates/pr/offboard-title.hbs",
  "templates/pr/onboard-body.hbs",
  "templates/pr/onboard-title.hbs",
  "templates/pr/review-comment.hbs",
  ...["actionlint", "age", "kustomize", "promtool", "sops", "ytt"].flatMap((t) => [
    `tools/${t}/go.mod`,
    `tools/${t}/go.sum`,
  ]),
  "tools/releases.json",
];

/** The checkout's pinned tools on PATH: an installed package has no .tools of its own. */
const toolsEnv = { NO_COLOR: "1", PATH: `${path.join(repoRoot, ".tools", "bin")}:${process.env.PATH}` };

/** npm install of the tarball; its dependencies come from the registry (a missing network skips locally). */
async function npmInstall(
  ctx: { skip: (note?: string) => void },
  args: string[],
  cwd?: string,
): Promise<boolean> {
  const r = await execa("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...args], {
    cwd,
    reject: false,
    all: true,
  });
  if (r.exitCode !== 0 && /E(NOTFOUND|AI_AGAIN|CONNREFUSED|TIMEDOUT|NETUNREACH)/.test(r.all ?? "")) {
    skipOrFail(ctx, `the npm registry is not reachable for promfleet's dependencies: ${r.all}`);
    return false;
  }
  expect(r.exitCode, r.all).toBe(0);
  return true;
}

const ownVersion = async () =>
  (JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

/** promfleet's user path, run by the installed binary: init, onboard-cluster, render, render --check, validate. */
async function userPath(bin: string, fleet: string): Promise<void> {
  await mkdir(fleet, { recursive: true });
  const run = async (args: string[]) => {
    const r = await execa(bin, ["-C", fleet, ...args], { reject: false, env: toolsEnv, all: true });
    expect(r.exitCode, `promfleet ${args.join(" ")}\n${r.all}`).toBe(0);
    return r;
  };
  await run(["init", ...INIT_FLAGS]);
  await run(["onboard-cluster", "edge-1"]);
  await run(["render"]);
  await run(["render", "--check"]);
  const validate = await run(["validate", "--crds", path.join(fixturesDir, "crds"), "--json"]);
  const report = JSON.parse(validate.stdout) as { ok: boolean; clusters: Array<{ name: string }> };
  expect(report.ok).toBe(true);
  expect(report.clusters.map((c) => c.name).sort()).toEqual(["edge-1", "hub"]);
}

describe("the npm package", { timeout: 300_000 }, () => {
  let tarball: string;
  let files: string[];
  beforeAll(async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), "promfleet-pack-"));
    // dist/ is built by the test setup; --ignore-scripts: no second build while other tests run it
    const pack = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", out], {
      cwd: repoRoot,
    });
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(out, packed?.filename ?? "");
    files = (await execa("tar", ["-tzf", tarball])).stdout
      .split("\n")
      .filter((f) => f && !f.endsWith("/"))
      .map((f) => f.replace(/^package\//, ""))
      .sort();
  });

  it("holds exactly what a user needs: the build, the overlays and templates init copies, the tool installer", () => {
    expect(files.filter((f) => !f.startsWith("dist/"))).toEqual([...EXPECTED_FILES].sort());
    expect(files.filter((f) => /(^|\/)(test|src|fixtures)\//.test(f) || /(?<!\.d)\.ts$/.test(f))).toEqual([]);
  });

  it("holds the bundled CLI (its entries, chunks, source maps, build hash and package notice), not the compiled modules", async () => {
    const bundle = (await readdir(path.join(repoRoot, "dist", "bundle"))).map((f) => `dist/bundle/${f}`);
    for (const entry of [
      "cli.js",
      "hash-worker.js",
      "diff-worker.js",
      "build-hash.txt",
      "bundled-packages.txt",
    ])
      expect(bundle).toContain(`dist/bundle/${entry}`);
    expect(files.filter((f) => f.startsWith("dist/"))).toEqual(bundle.sort());
  });

  it("installed into an empty folder, runs init, onboard-cluster, render, render --check and validate", async (ctx) => {
    const app = await mkdtemp(path.join(os.tmpdir(), "promfleet-app-"));
    if (!(await npmInstall(ctx, [tarball], app))) return;
    const bin = path.join(app, "node_modules", ".bin", "promfleet");
    expect(await realpath(bin)).toBe(
      path.join(await realpath(app), "node_modules/promfleet/bin/promfleet.js"),
    );
    expect((await execa(bin, ["--version"])).stdout.trim()).toBe(await ownVersion());
    await userPath(bin, path.join(app, "fleet"));
  });

  it("installed globally (npm i -g), works the same", async (ctx) => {
    const prefix = await mkdtemp(path.join(os.tmpdir(), "promfleet-global-"));
    if (!(await npmInstall(ctx, ["-g", "--prefix", prefix, tarball]))) return;
    const bin = path.join(prefix, "bin", "promfleet");
    expect((await execa(bin, ["--version"])).stdout.trim()).toBe(await ownVersion());
    await userPath(bin, path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-global-fleet-")), "fleet"));
  });
});
