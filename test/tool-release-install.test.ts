/**
 * scripts/install-release-tools.sh (the GitHub Actions' tool installer), for real but without GitHub:
 * a loopback HTTP server serves release files this test builds from the locally built tools in
 * .tools/bin (a bare binary, a tar.gz, a zip), and PROMFLEET_TOOL_RELEASES points the installer at a
 * manifest that pins them.
 */
import { createHash } from "node:crypto";
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findYtt } from "../src/ytt/ytt.js";
import { repoRoot } from "./helpers/fleet-repo.js";

const bin = path.join(repoRoot, ".tools", "bin");
const installer = path.join(repoRoot, "scripts", "install-release-tools.sh");
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sha256Of = async (file: string) => sha256(await readFile(file));

interface Release {
  url: string;
  sha256: string;
  format: "binary" | "tar.gz" | "zip";
  files: Record<string, string>;
}

let server: Server;
let baseUrl: string;
let work: string;
/** Requests the server answered, by path. */
const requests: string[] = [];
/** The release files the server has, by path. */
const served = new Map<string, Buffer>();

/** Builds one release file under `dir` in the folder layout `members` names, serves it, returns its entry. */
async function release(
  name: string,
  format: Release["format"],
  members: Record<string, string>,
): Promise<Release> {
  const dir = await mkdtemp(path.join(work, "release-"));
  for (const [member, source] of Object.entries(members)) {
    await mkdir(path.dirname(path.join(dir, member)), { recursive: true });
    await copyFile(source, path.join(dir, member));
  }
  await writeFile(path.join(dir, "README.md"), "not a binary: the installer leaves it in the archive\n");
  const file = path.join(work, name);
  const entries = await readdir(dir);
  if (format === "tar.gz") await execa("tar", ["-czf", file, "-C", dir, ...entries]);
  else if (format === "zip") await execa("zip", ["-qr", file, ...entries], { cwd: dir });
  else await copyFile(Object.values(members)[0] as string, file);
  served.set(`/${name}`, await readFile(file));
  const files = Object.fromEntries(
    Object.keys(members).map((m) => [path.basename(m), format === "binary" ? name : m]),
  );
  return { url: `${baseUrl}/${name}`, sha256: await sha256Of(file), format, files };
}

async function writeManifest(tools: Record<string, { version: string; platforms: Record<string, Release> }>) {
  const file = path.join(await mkdtemp(path.join(work, "manifest-")), "releases.json");
  await writeFile(file, JSON.stringify({ tools }));
  return file;
}

async function install(manifest: string, arch: string, toolCache: string, toolsDir: string, tools: string[]) {
  return execa("bash", [installer, "install", toolsDir, ...tools], {
    env: { RUNNER_TOOL_CACHE: toolCache, PROMFLEET_TOOL_RELEASES: manifest, PROMFLEET_TOOL_ARCH: arch },
    reject: false,
    all: true,
  });
}

const freshDirs = async () => ({
  toolCache: await mkdtemp(path.join(work, "tool-cache-")),
  toolsDir: await mkdtemp(path.join(work, "tools-")),
});

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "promfleet-release-tools-"));
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = served.get(req.url ?? "");
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("install-release-tools.sh", () => {
  it("installs verified release files into the tool cache, only the binaries, and reuses them without a download", async () => {
    const manifest = await writeManifest({
      ytt: {
        version: "0.52.1",
        platforms: { "linux-amd64": await release("ytt-linux-amd64", "binary", { ytt: `${bin}/ytt` }) },
      },
      age: {
        version: "1.2.1",
        platforms: {
          "linux-amd64": await release("age-linux-amd64.tar.gz", "tar.gz", {
            "age/age": `${bin}/age`,
            "age/age-keygen": `${bin}/age-keygen`,
          }),
        },
      },
      kustomize: {
        version: "5.8.2",
        platforms: {
          "linux-amd64": await release("kustomize-linux-amd64.zip", "zip", { kustomize: `${bin}/kustomize` }),
        },
      },
    });
    const { toolCache, toolsDir } = await freshDirs();
    const before = requests.length;

    const first = await install(manifest, "x86_64", toolCache, toolsDir, ["ytt", "age", "kustomize"]);
    expect(first.exitCode, first.all).toBe(0);
    expect(first.all).toMatch(/^ytt 0\.52\.1 ok$/m);
    expect(requests.slice(before).sort()).toEqual([
      "/age-linux-amd64.tar.gz",
      "/kustomize-linux-amd64.zip",
      "/ytt-linux-amd64",
    ]);
    const cached = {
      ytt: ["ytt/0.52.1/x64", ["ytt"]],
      age: ["age/1.2.1/x64", ["age", "age-keygen"]],
      kustomize: ["kustomize/5.8.2/x64", ["kustomize"]],
    } as const;
    for (const [dir, names] of Object.values(cached)) {
      expect((await readdir(path.join(toolCache, dir))).sort()).toEqual(names); // no README.md
      expect(await readFile(path.join(toolCache, `${dir}.complete`), "utf8")).toContain(names[0]);
      for (const name of names) {
        const want = await sha256Of(path.join(bin, name));
        expect(await sha256Of(path.join(toolCache, dir, name))).toBe(want);
        expect(await readlink(path.join(toolsDir, "bin", name))).toBe(path.join(toolCache, dir, name));
        expect(await readFile(path.join(toolsDir, "sha256", name), "utf8")).toBe(`${want}  ${name}\n`);
      }
    }
    // promfleet accepts what it installed (it checks the recorded sha256 before running it)
    const ytt = await findYtt({ ...process.env, PROMFLEET_TOOLS_DIR: toolsDir, PROMFLEET_YTT: "" });
    expect(ytt).toMatchObject({ path: path.join(toolsDir, "bin", "ytt"), version: "0.52.1" });

    const again = await freshDirs();
    const second = await install(manifest, "x86_64", toolCache, again.toolsDir, ["ytt", "age", "kustomize"]);
    expect(second.exitCode, second.all).toBe(0);
    expect(second.all).not.toContain("downloading");
    expect(requests.length).toBe(before + 3);
    expect(await readlink(path.join(again.toolsDir, "bin", "age-keygen"))).toBe(
      path.join(toolCache, "age/1.2.1/x64/age-keygen"),
    );
  });

  it("refuses a release file whose sha256 is not the pinned one, naming both, and caches nothing", async () => {
    const good = await release("ytt-tampered", "binary", { ytt: `${bin}/ytt` });
    const pinned = "0".repeat(64);
    const manifest = await writeManifest({
      ytt: { version: "0.52.1", platforms: { "linux-amd64": { ...good, sha256: pinned } } },
    });
    const { toolCache, toolsDir } = await freshDirs();

    const r = await install(manifest, "x86_64", toolCache, toolsDir, ["ytt"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("ytt 0.52.1");
    expect(r.stderr).toContain(`has sha256 ${good.sha256}, expected ${pinned}`);
    expect(r.stderr).toContain("nothing installed");
    expect(await readdir(toolCache, { recursive: true })).toEqual([]);
    expect(await readdir(toolsDir)).toEqual([]);
  });

  it("reinstalls a cached binary that no longer matches the sha256 its marker records", async () => {
    const manifest = await writeManifest({
      ytt: {
        version: "0.52.1",
        platforms: { "linux-amd64": await release("ytt-recheck", "binary", { ytt: `${bin}/ytt` }) },
      },
    });
    const { toolCache, toolsDir } = await freshDirs();
    expect((await install(manifest, "x86_64", toolCache, toolsDir, ["ytt"])).exitCode).toBe(0);
    await writeFile(path.join(toolCache, "ytt/0.52.1/x64/ytt"), "#!/bin/sh\necho replaced\n");
    const before = requests.length;

    const r = await install(manifest, "x86_64", toolCache, toolsDir, ["ytt"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain("no longer matches");
    expect(requests.slice(before)).toEqual(["/ytt-recheck"]);
    expect(await sha256Of(path.join(toolsDir, "bin", "ytt"))).toBe(await sha256Of(path.join(bin, "ytt")));
  });

  it("takes the arm64 release file on arm64 and the amd64 one on x86_64", async () => {
    // two different binaries stand in for the two architectures' builds
    const manifest = await writeManifest({
      sops: {
        version: "3.13.3",
        platforms: {
          "linux-amd64": await release("sops.linux.amd64", "binary", { sops: `${bin}/age` }),
          "linux-arm64": await release("sops.linux.arm64", "binary", { sops: `${bin}/age-keygen` }),
        },
      },
    });
    for (const [arch, cacheArch, asset, built] of [
      ["aarch64", "arm64", "/sops.linux.arm64", "age-keygen"],
      ["x86_64", "x64", "/sops.linux.amd64", "age"],
    ] as const) {
      const { toolCache, toolsDir } = await freshDirs();
      const before = requests.length;
      const r = await install(manifest, arch, toolCache, toolsDir, ["sops"]);
      expect(r.exitCode, r.all).toBe(0);
      expect(requests.slice(before)).toEqual([asset]);
      expect((await readdir(path.join(toolCache, "sops", "3.13.3"))).sort()).toEqual([
        cacheArch,
        `${cacheArch}.complete`,
      ]);
      expect(await sha256Of(path.join(toolsDir, "bin", "sops"))).toBe(await sha256Of(path.join(bin, built)));
    }
  });

  it("says so when the manifest has no release file for the platform (action-install.sh then builds with Go)", async () => {
    const manifest = await writeManifest({
      ytt: {
        version: "0.52.1",
        platforms: { "linux-arm64": await release("ytt-arm-only", "binary", { ytt: `${bin}/ytt` }) },
      },
    });
    const env = { PROMFLEET_TOOL_RELEASES: manifest, PROMFLEET_TOOL_ARCH: "x86_64" };
    expect((await execa("bash", [installer, "has", "ytt"], { env, reject: false })).exitCode).toBe(1);
    expect((await execa("bash", [installer, "has", "promtool"], { env, reject: false })).exitCode).toBe(1);
    const arm = { ...env, PROMFLEET_TOOL_ARCH: "aarch64" };
    expect((await execa("bash", [installer, "has", "ytt"], { env: arm, reject: false })).exitCode).toBe(0);
  });
});

describe("action-install.sh install", () => {
  it("links release-file tools into the promfleet tools folder of the runner's tool cache", async () => {
    const root = await mkdtemp(path.join(work, "action-root-"));
    for (const rel of ["package.json", "scripts", "tools"])
      await cp(path.join(repoRoot, rel), path.join(root, rel), { recursive: true });
    const shims = await mkdtemp(path.join(work, "shims-"));
    await writeFile(path.join(shims, "npm"), "#!/bin/sh\n", { mode: 0o755 }); // npm ci and the build: npm's business
    const manifest = await writeManifest({
      ytt: {
        version: "0.52.1",
        platforms: { "linux-amd64": await release("ytt-action", "binary", { ytt: `${bin}/ytt` }) },
      },
    });
    const toolCache = await mkdtemp(path.join(work, "runner-tool-cache-"));
    const env = {
      RUNNER_TOOL_CACHE: toolCache,
      PROMFLEET_TOOL_RELEASES: manifest,
      PROMFLEET_TOOL_ARCH: "x86_64",
      PATH: `${shims}:${process.env.PATH}`,
      GO: "/bin/false", // a Go build would fail: ytt must come from its release file
    };
    const script = path.join(root, "scripts", "action-install.sh");

    const paths = await execa("bash", [script, "paths", "ytt", "promtool"], { env });
    const toolsDir = /^tools-dir=(.*)$/m.exec(paths.stdout)?.[1] as string;
    expect(paths.stdout).toContain(
      `cache-paths<<PROMFLEET_EOF\n${toolsDir}\n${toolCache}/ytt\nPROMFLEET_EOF\n`,
    );
    expect(paths.stdout).toMatch(/^needs-go=true$/m); // promtool has no entry in this manifest

    const r = await execa("bash", [script, "install", "ytt"], { env, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    expect(await readlink(path.join(root, ".tools"))).toBe(toolsDir);
    expect(await readlink(path.join(toolsDir, "bin", "ytt"))).toBe(
      path.join(toolCache, "ytt/0.52.1/x64/ytt"),
    );
  });
});
