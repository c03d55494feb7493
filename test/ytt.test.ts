import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findYtt, runYtt } from "../src/ytt/ytt.js";
import { exampleFleetRepo, promfleet } from "./helpers/fleet-repo.js";

describe("ytt wrapper", () => {
  it("finds ytt and reads its version", async () => {
    const ytt = await findYtt();
    expect(ytt.version).toMatch(/^(\d+\.\d+\.\d+|develop)$/);
  });

  it("a missing binary says how to install it and exits 3", async () => {
    const dir = await exampleFleetRepo();
    const result = await promfleet(dir, ["render"], { PROMFLEET_YTT: "/nonexistent/ytt" });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("ytt not found (looked for /nonexistent/ytt)");
    expect(result.stderr).toContain("scripts/install-tools.sh ytt");
    expect(result.stderr).toContain("PROMFLEET_YTT");
  });

  it("refuses a ytt older than the features promfleet uses", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-fake-ytt-"));
    const fake = path.join(dir, "ytt");
    await writeFile(fake, "#!/bin/sh\necho 'ytt version 0.30.0'\n", { mode: 0o755 });
    await expect(findYtt({ ...process.env, PROMFLEET_YTT: fake })).rejects.toThrow(
      /ytt 0.30.0 .* is older than 0.44.0/,
    );
  });

  it("stops a ytt run that takes too long", async () => {
    const ytt = await findYtt();
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-slow-"));
    await writeFile(
      path.join(dir, "slow.yaml"),
      "#@ def spin():\n#@   n = 0\n#@   for i in range(1000000000):\n#@     n += i\n#@   end\n#@   return n\n#@ end\n---\nx: #@ spin()\n",
    );
    await expect(runYtt(ytt, { files: [dir], timeoutMs: 300 })).rejects.toThrow(
      /ytt did not finish within 0.3s/,
    );
  });
});
