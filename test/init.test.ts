import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { promfleet } from "./helpers/fleet-repo.js";
import { INIT_FLAGS } from "./helpers/init.js";

async function emptyDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "promfleet-init-"));
}

describe("promfleet init", () => {
  it("scaffolds a secure fleet that renders, passes render --check and takes an agent", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, ["init", dir, ...INIT_FLAGS, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const spec = parse(await readFile(path.join(dir, "fleet.yaml"), "utf8"));
    expect(spec.remoteWrite).toEqual({ url: "https://prom.example.com/api/v1/write" }); // auth basic and TLS verification by default
    expect(spec.secrets.provider).toBe("external");
    expect(spec.clusters[0].credential.passwordHash).toMatch(/^\$2/);
    expect(await readFile(path.join(dir, "fleet.yaml"), "utf8")).toContain("# The aggregator: receives");
    expect((await promfleet(dir, ["render", "--check"])).code).toBe(0);
    const values = await readFile(path.join(dir, "clusters/hub/values.yaml"), "utf8");
    expect(values).not.toContain("insecure_skip_verify");
    expect(values).toContain("--web.config.file=/etc/promfleet/web/web-config.yml");
    const password = await readFile(path.join(dir, ".promfleet/credentials/hub.password"), "utf8");
    expect(result.stdout + result.stderr).not.toContain(password);
    const workflows = await Promise.all(
      (await readdir(path.join(dir, ".github/workflows"))).map((f) =>
        readFile(path.join(dir, ".github/workflows", f), "utf8"),
      ),
    );
    expect(workflows.join("\n")).toContain("- uses: promfleet/promfleet/review@v");

    const onboard = await promfleet(dir, ["onboard-cluster", "edge-1"]);
    expect(onboard.code, onboard.stderr).toBe(0);
    expect(
      parse(await readFile(path.join(dir, "fleet.yaml"), "utf8")).clusters[1].credential.passwordHash,
    ).toMatch(/^\$2/);
    expect(await readFile(path.join(dir, "clusters/hub/manifests/package-overlay.yaml"), "utf8")).toContain(
      '"edge-1":', // user names are quoted in the web config (a cluster may be named "null" or "123")
    );
  });

  it("refuses to overwrite an existing fleet, and writes nothing for a bad name", async () => {
    const dir = await emptyDir();
    await promfleet(dir, ["init", dir, ...INIT_FLAGS]);
    const again = await promfleet(dir, ["init", dir, ...INIT_FLAGS]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already a fleet");

    const other = await emptyDir();
    const bad = await promfleet(other, [
      "init",
      other,
      ...INIT_FLAGS.map((f) => (f === "hub" ? "Hub_1" : f)),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--aggregator: "Hub_1"');
    expect(await readdir(other)).toEqual([]);
  });
});
