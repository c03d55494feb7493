/**
 * What the local cluster changes (onboard-cluster, offboard-cluster, rotate-credential) cost before they
 * do their work: the modules they load, the thread that hashes their new password, and the spec value
 * they leave in the cache for the next command.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import bcrypt from "bcryptjs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { promfleet, readRepoFile, repoRoot } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

/** The built modules (test/support/build-once.ts builds dist/ before any test). */
const dist = (rel: string) => pathToFileURL(path.join(repoRoot, "dist", rel)).href;

/** A module hook that appends every URL the CLI resolves, and what imported it, to the file $MODULE_LOG names. */
const RESOLVE_HOOK = `
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.MODULE_LOG, (context.parentURL ?? "-") + " " + resolved.url + "\\n");
  return resolved;
}`;

const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

/**
 * Runs the built CLI like promfleet() does, and returns the packages it loaded (those the hashing
 * thread, dist/bundle/hash-worker.js, imported apart from the rest) and every module URL it resolved.
 */
async function packagesLoaded(
  dir: string,
  args: string[],
): Promise<{ code: number; packages: string[]; modules: string[]; hashThread: string[] }> {
  const hooks = await mkdtemp(path.join(os.tmpdir(), "promfleet-hooks-"));
  await writeFile(path.join(hooks, "hooks.mjs"), RESOLVE_HOOK);
  await writeFile(
    path.join(hooks, "register.mjs"),
    `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`,
  );
  const log = path.join(hooks, "modules.txt");
  const run = await execa(
    "node",
    [
      "--import",
      path.join(hooks, "register.mjs"),
      path.join(repoRoot, "bin", "promfleet.js"),
      "-C",
      dir,
      ...args,
    ],
    { reject: false, env: { NO_COLOR: "1", MODULE_LOG: log } },
  );
  const lines = existsSync(log) ? (await readFile(log, "utf8")).split("\n").filter(Boolean) : [];
  const imports = lines.map((line) => line.split(" ") as [string, string]);
  const fromThread = ([parent]: [string, string]) => parent.endsWith("/dist/bundle/hash-worker.js");
  const packages = (list: [string, string][]) =>
    [...new Set(list.flatMap(([, url]) => packageOf(url) ?? []))].sort();
  return {
    code: run.exitCode ?? -1,
    packages: packages(imports.filter((i) => !fromThread(i))),
    modules: imports.map(([, url]) => url),
    hashThread: packages(imports.filter(fromThread)),
  };
}

describe("a local cluster change loads what it uses", () => {
  it("onboard-cluster, rotate-credential and offboard-cluster load none of the GitHub modules; bcryptjs only on the hashing thread", async () => {
    const { dir } = await secureFleetRepo();
    expect((await promfleet(dir, ["render"])).code).toBe(0);
    const runs: [string[], string[]][] = [
      [["onboard-cluster", "edge-1"], ["bcryptjs"]],
      [["rotate-credential", "edge-1"], ["bcryptjs"]],
      [["rotate-credential", "edge-1", "--finish"], []],
      [["offboard-cluster", "edge-1"], []],
    ];
    for (const [args, hashing] of runs) {
      const { code, packages, modules, hashThread } = await packagesLoaded(dir, args);
      const run = args.join(" ");
      expect(code, run).toBe(0);
      // the run did load its modules (the hook saw them): the bundled CLI, with execa (ytt) and yaml in
      // it, so nothing from node_modules on the main thread (not a pull request's modules, nor bcrypt)
      expect(
        modules.some((url) => url.endsWith("/dist/bundle/cli.js")),
        run,
      ).toBe(true);
      expect(packages, run).toEqual([]);
      // a new password is hashed by bcryptjs on its own thread
      expect(hashThread, run).toEqual(hashing);
    }
    expect(await readRepoFile(dir, "fleet.yaml")).not.toContain("edge-1");
  });
});

describe("a new credential is hashed on a worker thread", () => {
  it("at bcrypt cost 10; the hash matches the password", async () => {
    const { startNewCredential } = (await import(
      dist("secrets/credential-hash.js")
    )) as typeof import("../src/secrets/credential-hash.js");
    const pending = startNewCredential();
    const { password, passwordHash } = await pending.credential;
    pending.discard();
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(bcrypt.getRounds(passwordHash)).toBe(10);
    expect(bcrypt.compareSync(password, passwordHash)).toBe(true);
    expect(bcrypt.compareSync(`${password}x`, passwordHash)).toBe(false);
  });

  it("a discarded credential stops its thread: the promise settles, with no hash", async () => {
    const { startNewCredential } = (await import(
      dist("secrets/credential-hash.js")
    )) as typeof import("../src/secrets/credential-hash.js");
    const pending = startNewCredential();
    pending.discard();
    await expect(pending.credential).rejects.toThrow(/exited .* without a hash/);
  });

  it("a credential started before the command line is parsed goes to the first command that asks, once", async () => {
    const hashing = (await import(
      dist("secrets/credential-hash.js")
    )) as typeof import("../src/secrets/credential-hash.js");
    hashing.startCredentialEarly();
    const early = hashing.newCredential();
    const later = hashing.newCredential();
    const [first, second] = await Promise.all([early.credential, later.credential]);
    expect(first.password).not.toBe(second.password);
    expect(bcrypt.compareSync(first.password, first.passwordHash)).toBe(true);
    // one that no command took is stopped, and a later command still gets a credential of its own
    hashing.startCredentialEarly();
    hashing.discardEarlyCredential();
    const own = hashing.newCredential();
    expect(bcrypt.compareSync((await own.credential).password, (await own.credential).passwordHash)).toBe(
      true,
    );
  });

  it("onboard-cluster's and rotate-credential's passwords match the hashes they put in the spec", async () => {
    const { dir } = await secureFleetRepo();
    expect((await promfleet(dir, ["onboard-cluster", "edge-1"])).code).toBe(0);
    expect((await promfleet(dir, ["rotate-credential", "kind"])).code).toBe(0);
    const clusters = (parse(await readRepoFile(dir, "fleet.yaml")) as { clusters: SpecEntry[] }).clusters;
    for (const name of ["edge-1", "kind"]) {
      const hash = clusters.find((c) => c.name === name)?.credential?.passwordHash as string;
      const password = await readRepoFile(dir, `.promfleet/credentials/${name}.password`);
      expect(bcrypt.getRounds(hash), name).toBe(10);
      expect(bcrypt.compareSync(password, hash), name).toBe(true);
    }
  });
});

interface SpecEntry {
  name: string;
  credential?: { passwordHash?: string };
}

describe("the spec a change writes is left in the spec cache", () => {
  it.each([[["onboard-cluster", "edge-1"]], [["rotate-credential", "kind"]], [["offboard-cluster", "kind"]]])(
    "after %j the cache holds the new spec's value, as the yaml library reads it",
    async (args) => {
      const { dir } = await secureFleetRepo();
      const cache = await mkdtemp(path.join(os.tmpdir(), "promfleet-cache-"));
      const env = { XDG_CACHE_HOME: cache };
      expect((await promfleet(dir, ["render"], env)).code).toBe(0);
      const before = await readRepoFile(dir, "fleet.yaml");
      expect((await promfleet(dir, args, env)).code).toBe(0);
      const after = await readRepoFile(dir, "fleet.yaml");
      expect(after).not.toBe(before);
      const { specValueStore } = (await import(
        dist("fleet/spec-cache.js")
      )) as typeof import("../src/fleet/spec-cache.js");
      const store = specValueStore(path.join(dir, "fleet.yaml"), path.join(cache, "promfleet", "specs"));
      expect(store?.get(after)).toEqual(parse(after));
    },
  );
});
