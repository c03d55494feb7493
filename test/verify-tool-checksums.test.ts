/**
 * Tools promfleet built are trusted on their recorded sha256, not on what `--version` prints:
 * scripts/install-tools.sh records it, promfleet checks it before running the binary, and a binary that
 * changed (or has no record) stops the command with exit 3 and the fix.
 */
import { existsSync } from "node:fs";
import { appendFile, copyFile, mkdir, mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { exampleFleetRepo, promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { toolPath } from "./helpers/secure-fleet.js";

/** A checkout-shaped folder holding the installer, ytt's pin and a copy of the built ytt. */
async function checkoutWithYtt(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), "promfleet-tools-"));
  await mkdir(path.join(root, "scripts"));
  await mkdir(path.join(root, "tools", "ytt"), { recursive: true });
  await mkdir(path.join(root, ".tools", "bin"), { recursive: true });
  await copyFile(
    path.join(repoRoot, "scripts", "install-tools.sh"),
    path.join(root, "scripts", "install-tools.sh"),
  );
  for (const f of ["go.mod", "go.sum"])
    await copyFile(path.join(repoRoot, "tools", "ytt", f), path.join(root, "tools", "ytt", f));
  await copyFile(toolPath("ytt"), path.join(root, ".tools", "bin", "ytt"));
  return root;
}

/** The installer promfleet names in its fixes: the one shipped beside dist/, by absolute path. */
const INSTALLER = path.join(repoRoot, "scripts", "install-tools.sh");
const systemSha256 = async (file: string) => (await execa("sha256sum", [file])).stdout.split(" ")[0];

describe("built tools are checked against their recorded sha256", () => {
  it("refuses a binary without a record, records one with the installer, refuses it once it changed", async () => {
    const root = await checkoutWithYtt();
    const env = { PROMFLEET_TOOLS_DIR: path.join(root, ".tools") };
    const ytt = path.join(root, ".tools", "bin", "ytt");

    const fleet = await exampleFleetRepo();
    const unrecorded = await promfleet(fleet, ["render"], env);
    expect(unrecorded.code).toBe(3);
    expect(unrecorded.stderr).toContain(`${ytt}: no sha256 recorded`);
    expect(unrecorded.stderr).toContain(`fix: rerun bash ${INSTALLER} ytt`);
    expect(unrecorded.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(fleet, "clusters"))).toBe(false);

    const install = await execa("bash", [path.join(root, "scripts", "install-tools.sh"), "ytt"], {
      reject: false,
    });
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stdout).toContain("ytt 0.52.1 ok");
    const record = await readFile(path.join(root, ".tools", "sha256", "ytt"), "utf8");
    expect(record).toBe(`${await systemSha256(ytt)}  ytt\n`);

    const ok = await promfleet(fleet, ["render"], env);
    expect(ok.code, ok.stderr).toBe(0);

    // still prints "ytt version 0.52.1": only the checksum tells
    await appendFile(ytt, Buffer.from([0]));
    expect((await execa(ytt, ["version"])).stdout).toContain("ytt version 0.52.1");
    const tampered = await promfleet(fleet, ["render", "--check"], env);
    expect(tampered.code).toBe(3);
    expect(tampered.stderr).toContain(
      `${ytt}: sha256 ${await systemSha256(ytt)} is not the ${record.split(" ")[0]} recorded when it was built`,
    );
    expect(tampered.stderr).toContain(`fix: rerun bash ${INSTALLER} ytt`);
  });

  it("trusts a binary the user names explicitly", async () => {
    const root = await checkoutWithYtt();
    const fleet = await exampleFleetRepo();
    const r = await promfleet(fleet, ["render"], {
      PROMFLEET_TOOLS_DIR: path.join(root, ".tools"),
      PROMFLEET_YTT: path.join(root, ".tools", "bin", "ytt"),
    });
    expect(r.code, r.stderr).toBe(0);
  });
});
