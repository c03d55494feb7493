import { skipOrFail } from "./support/prerequisites.js";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedCrds, crdCacheDir } from "../src/validate/crd-cache.js";
import { PINNED_CRDS, type PinnedCrds } from "../src/validate/crd-pins.js";
import { fetchCrds, resolveCrds } from "../src/validate/crd-source.js";
import { moduleHash } from "../src/validate/go-module-hash.js";
import { escapeModulePath, goProxy } from "../src/validate/go-proxy.js";
import { exampleFleetRepo, promfleet } from "./helpers/fleet-repo.js";

const MODULE = "example.dev/Thing-controller";
const VERSION = "v1.0.0";
const CRD = [
  "apiVersion: apiextensions.k8s.io/v1",
  "kind: CustomResourceDefinition",
  "spec:",
  "  group: example.dev",
  "  names: {kind: Thing}",
  "  versions:",
  "  - name: v1",
  "    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}",
  "",
].join("\n");
const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
/**
 * Expected values computed outside promfleet, once, from the files below written to disk:
 * `sha256sum config/crds.yaml`, and the module hash as Go's dirhash defines it with system tools
 * (`find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | xxd -r -p | base64`); the first test
 * also checks it against what `go mod download -json` prints.
 */
const CRD_SHA256 = "2c4c51c0f2124a922a2b71e30c5ead2144c4a470fdf30dd4251c4e55fbb79de2";
const MODULE_H1 = "h1:hnW7msuw0xojizqVojaV30JXxnOhxpQca3I0Gy5TXOw=";

/** A module zip laid out as the Go module proxy serves it: every file under <module>@<version>/. */
const moduleFiles: Record<string, Uint8Array> = Object.fromEntries(
  Object.entries({
    "go.mod": `module ${MODULE}\n\ngo 1.21\n`,
    LICENSE: "Apache-2.0\n",
    "config/crds.yaml": CRD,
  }).map(([name, text]) => [`${MODULE}@${VERSION}/${name}`, strToU8(text)]),
);
const moduleZip = zipSync(moduleFiles);

const tmp = () => mkdtemp(path.join(os.tmpdir(), "promfleet-crd-cache-"));

/** A Go module proxy (the GOPROXY protocol's .info, .mod and .zip) for one module, optionally behind basic auth. */
function goProxyServer(auth?: string): Server {
  const prefix = `/${escapeModulePath(MODULE)}/@v/${VERSION}`;
  return createServer((req: IncomingMessage, res) => {
    if (auth && req.headers.authorization !== `Basic ${Buffer.from(auth).toString("base64")}`)
      return void res.writeHead(401).end("unauthorized");
    // the go command percent-encodes the "!" of case-encoded paths; fetch() sends it as is
    const url = decodeURIComponent(req.url ?? "");
    if (url === `${prefix}.info`)
      return void res.end(JSON.stringify({ Version: VERSION, Time: "2026-01-01T00:00:00Z" }));
    if (url === `${prefix}.mod`) return void res.end(`module ${MODULE}\n\ngo 1.21\n`);
    if (url === `${prefix}.zip`) return void res.end(Buffer.from(moduleZip));
    res.writeHead(404).end("not found");
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const pins = (h1: string, fileSha = CRD_SHA256): PinnedCrds => ({
  version: "test-v1",
  modules: [
    {
      module: MODULE,
      version: VERSION,
      h1,
      files: [{ path: "config/crds.yaml", name: "thing-crds.yaml", sha256: fileSha }],
    },
  ],
});

/** The go command, for checking the module hash against the reference implementation. */
async function goBinary(): Promise<string | undefined> {
  for (const candidate of ["go", "/usr/local/go/bin/go"]) {
    const r = await execa(candidate, ["version"], { reject: false });
    if (r.exitCode === 0) return candidate;
  }
  return undefined;
}

describe("CRDs from the pinned upstream releases (Go module proxy)", () => {
  let server: Server;
  let proxy: string;
  let go: string | undefined;
  beforeAll(async () => {
    server = goProxyServer();
    proxy = await listen(server);
    go = await goBinary();
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("computes the module hash exactly as the go command does", async (ctx) => {
    if (!go)
      return skipOrFail(ctx, "the go command is not installed (scripts/install-tools.sh needs it too)");
    const work = await tmp();
    const r = await execa(go, ["mod", "download", "-json", `${MODULE}@${VERSION}`], {
      cwd: work,
      env: {
        GOPROXY: proxy,
        GOSUMDB: "off",
        GOFLAGS: "-modcacherw",
        GOMODCACHE: path.join(work, "modcache"),
        GOTOOLCHAIN: "local",
      },
      reject: false,
    });
    expect(r.stderr).toBe("");
    const sum = (JSON.parse(r.stdout) as { Sum: string }).Sum;
    expect(sum).toBe(MODULE_H1);
    expect(moduleHash(moduleFiles)).toBe(MODULE_H1);
  });

  it("computes the module hash and file checksum recorded independently", () => {
    expect(moduleHash(moduleFiles)).toBe(MODULE_H1);
    expect(sha256(CRD)).toBe(CRD_SHA256);
  });

  it("downloads, verifies the module hash and each file, and caches the CRD files", async () => {
    const dir = path.join(await tmp(), "crds");
    const files = await fetchCrds(pins(MODULE_H1), dir, { GOPROXY: `${proxy},direct` });
    expect(files).toEqual([path.join(dir, "thing-crds.yaml")]);
    expect(await readFile(files[0] as string, "utf8")).toBe(CRD);
  });

  it("caches nothing when the module hash is not the pinned one", async () => {
    const dir = path.join(await tmp(), "crds");
    const wrong = `h1:${Buffer.alloc(32).toString("base64")}`;
    await expect(fetchCrds(pins(wrong), dir, { GOPROXY: proxy })).rejects.toThrow(
      `${proxy}/example.dev/!thing-controller/@v/${VERSION}.zip: module hash ${MODULE_H1} ` +
        `is not the pinned ${wrong} of ${MODULE}@${VERSION}; nothing was cached`,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it("caches nothing when a pinned file's checksum is inconsistent with the verified module", async () => {
    const dir = path.join(await tmp(), "crds");
    const p = pins(MODULE_H1, "0".repeat(64));
    await expect(fetchCrds(p, dir, { GOPROXY: proxy })).rejects.toThrow(
      `config/crds.yaml is sha256 ${CRD_SHA256}, not the pinned ${"0".repeat(64)}`,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it("uses a complete cache without the network, and refuses an altered one", async () => {
    const env = { XDG_CACHE_HOME: await tmp() };
    const p = pins(MODULE_H1);
    const dir = crdCacheDir(p, env);
    expect(dir).toBe(path.join(env.XDG_CACHE_HOME, "promfleet", "crds", "test-v1"));
    expect(await resolveCrds({ crds: [] }, p, env)).toBeUndefined();

    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "thing-crds.yaml"), CRD);
    const source = await resolveCrds({ crds: [] }, p, { ...env, GOPROXY: "off" });
    expect(source?.from).toBe(dir);
    expect(
      source?.validator.validate({ apiVersion: "example.dev/v1", kind: "Thing", spec: { size: "big" } }),
    ).toEqual(["/spec/size: must be integer"]);

    await writeFile(path.join(dir, "thing-crds.yaml"), `${CRD}# edited\n`);
    await expect(cachedCrds(p, dir)).rejects.toThrow(/sha256 [0-9a-f]{64} is not the pinned/);
  });

  it("reads GOPROXY the way the go command does, and refuses off and direct", () => {
    expect(goProxy({})).toBe("https://proxy.golang.org");
    expect(goProxy({ GOPROXY: "https://athens.internal/ ,https://proxy.golang.org,direct" })).toBe(
      "https://athens.internal",
    );
    expect(goProxy({ GOPROXY: "https://a.example|https://b.example" })).toBe("https://a.example");
    expect(() => goProxy({ GOPROXY: "off" })).toThrow(/GOPROXY=off.*\nfix: .*--crds DIR/);
    expect(() => goProxy({ GOPROXY: "direct" })).toThrow(/starts with direct.*\nfix: put a proxy first/);
    expect(escapeModulePath("github.com/BurntSushi/toml")).toBe("github.com/!burnt!sushi/toml");
  });

  it("sends GOPROXY credentials as basic auth and never prints them", async () => {
    const guarded = goProxyServer("ci:s3cret-token");
    const url = await listen(guarded);
    try {
      const withAuth = url.replace("http://", "http://ci:s3cret-token@");
      const dir = path.join(await tmp(), "crds");
      const p = pins(MODULE_H1);
      expect(await fetchCrds(p, dir, { GOPROXY: withAuth })).toHaveLength(1);

      const wrong = url.replace("http://", "http://ci:wrong-token@");
      const failure = await fetchCrds(p, path.join(await tmp(), "crds"), { GOPROXY: wrong }).catch(
        (e: Error) => e,
      );
      expect(String(failure)).toContain("HTTP 401");
      expect(String(failure)).toContain("http://***@127.0.0.1");
      expect(String(failure)).not.toContain("wrong-token");
    } finally {
      await new Promise<void>((resolve) => guarded.close(() => resolve()));
    }
  });

  it("validate says which flag to pass when there are no --crds and no cache", async () => {
    const dir = await exampleFleetRepo();
    await promfleet(dir, ["render"]);
    const r = await promfleet(dir, ["validate", "--json"], { XDG_CACHE_HOME: await tmp() });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("not checked against their CRDs: pass --crds DIR");
    expect(r.stderr).toContain("--fetch-crds");
    const checks = (JSON.parse(r.stdout) as { clusters: { checks: { check: string }[] }[] }).clusters.flatMap(
      (c) => c.checks,
    );
    expect(checks.map((c) => c.check)).not.toContain("crds");
  });
});

/** The real pins against the real Go module proxy: proves the recorded hashes are the published ones. */
describe("validate --fetch-crds with the pinned releases", () => {
  const proxyUrl = (() => {
    try {
      return goProxy(process.env);
    } catch {
      return undefined;
    }
  })();

  it("fetches, verifies and uses kapp-controller's and Flux's CRDs", async (ctx) => {
    const reachable =
      proxyUrl &&
      (await fetch(`${proxyUrl}/github.com/fluxcd/source-controller/@v/list`, {
        signal: AbortSignal.timeout(5000),
      })
        .then((r) => r.ok)
        .catch(() => false));
    if (!reachable)
      return skipOrFail(
        ctx,
        `the Go module proxy (${proxyUrl ?? "GOPROXY"}) is not reachable: pins not checked`,
      );

    const dir = await exampleFleetRepo();
    const spec = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    await writeFile(
      path.join(dir, "fleet.yaml"),
      spec.replace("  - name: kind\n", "  - name: kind\n    delivery: flux\n"),
    );
    expect((await promfleet(dir, ["render"])).code).toBe(0);

    const cache = await tmp();
    const r = await promfleet(dir, ["validate", "--fetch-crds", "--json"], { XDG_CACHE_HOME: cache });
    expect(r.stderr).not.toContain("not checked against their CRDs");
    expect(r.code, r.stdout).toBe(0);
    const clusters = (
      JSON.parse(r.stdout) as { clusters: { name: string; checks: { check: string; file: string }[] }[] }
    ).clusters;
    const crdFiles = clusters.flatMap((c) => c.checks.filter((k) => k.check === "crds").map((k) => k.file));
    expect(crdFiles).toEqual(expect.arrayContaining([expect.stringMatching(/kustomization|flux/)]));
    expect(crdFiles).toEqual(expect.arrayContaining([expect.stringMatching(/package-install/)]));

    const cached = crdCacheDir(PINNED_CRDS, { XDG_CACHE_HOME: cache });
    for (const f of PINNED_CRDS.modules.flatMap((m) => m.files))
      expect((await execa("sha256sum", [path.join(cached, f.name)])).stdout.split(" ")[0]).toBe(f.sha256);

    // the cache serves later runs with no network at all
    const offline = await promfleet(dir, ["validate", "--json"], { XDG_CACHE_HOME: cache, GOPROXY: "off" });
    expect(offline.code).toBe(0);
    expect(offline.stderr).not.toContain("not checked against their CRDs");
    expect(offline.stdout).toContain('"check": "crds"');
  });
});

describe("the schemas read from CRD files, cached by the files' hash", () => {
  const thing = (spec: Record<string, unknown>) => ({ apiVersion: "example.dev/v1", kind: "Thing", spec });
  const crdWith = (field: string) => CRD.replace("size: {type: integer}", `${field}: {type: integer}`);

  async function crdsIn(text: string): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-crd-files-"));
    await writeFile(path.join(dir, "thing.yaml"), text);
    return dir;
  }

  it("reads the same files from the cache next time, and other content from the files", async () => {
    const env = { XDG_CACHE_HOME: await mkdtemp(path.join(os.tmpdir(), "promfleet-xdg-")) };
    const cacheDir = path.join(env.XDG_CACHE_HOME, "promfleet", "crd-schemas");
    const first = await resolveCrds({ crds: [await crdsIn(CRD)] }, PINNED_CRDS, env);
    expect(first?.validator.validate(thing({ sise: 1 }))).toEqual(["/spec/sise: unknown field"]);
    const [entry] = await readdirNames(cacheDir);
    expect(entry).toMatch(/^[0-9a-f]{64}\.json$/);

    // the cache holds what the files say: the same answers, from the cache alone
    const again = await resolveCrds({ crds: [await crdsIn(CRD)] }, PINNED_CRDS, env);
    expect(again?.validator.validate(thing({ sise: 1 }))).toEqual(["/spec/sise: unknown field"]);
    expect(again?.validator.validate(thing({ size: 1 }))).toEqual([]);

    // a changed CRD is read from its file, not from the entry of the old one
    const renamed = await resolveCrds({ crds: [await crdsIn(crdWith("count"))] }, PINNED_CRDS, env);
    expect(renamed?.validator.validate(thing({ size: 1 }))).toEqual(["/spec/size: unknown field"]);
    expect(renamed?.validator.validate(thing({ count: 1 }))).toEqual([]);
    expect(await readdirNames(cacheDir)).toHaveLength(2);
  });

  it("parses the files again when the cache entry is unreadable or not what it writes", async () => {
    const env = { XDG_CACHE_HOME: await mkdtemp(path.join(os.tmpdir(), "promfleet-xdg-")) };
    const cacheDir = path.join(env.XDG_CACHE_HOME, "promfleet", "crd-schemas");
    const files = await crdsIn(CRD);
    await resolveCrds({ crds: [files] }, PINNED_CRDS, env);
    const [entry] = await readdirNames(cacheDir);
    for (const broken of ["{not json", JSON.stringify({ schemas: [["example.dev/v1/Thing", {}]] })]) {
      await writeFile(path.join(cacheDir, entry as string), broken);
      const crds = await resolveCrds({ crds: [files] }, PINNED_CRDS, env);
      expect(crds?.validator.validate(thing({ sise: 1 }))).toEqual(["/spec/sise: unknown field"]);
    }
  });
});

async function readdirNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
