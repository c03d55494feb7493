/**
 * A promtool built without Kubernetes service discovery (Debian's /usr/bin/promtool, from the
 * `prometheus` package) rejects kubernetes_sd_configs, which every cluster's config uses: promfleet
 * refuses it wherever it finds it, with exit code 3 and how to get the upstream build.
 */
import { existsSync } from "node:fs";
import { mkdtemp, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { ExitCode, PromfleetError } from "../src/util/errors.js";
import { findPromtool } from "../src/validate/promtool.js";
import { exampleFleetRepo, promfleet, repoRoot } from "./helpers/fleet-repo.js";
import { describeWith } from "./support/prerequisites.js";

const debianPromtool = "/usr/bin/promtool";
const missing = existsSync(debianPromtool)
  ? undefined
  : `Debian's promtool (${debianPromtool}) is missing: apt-get install prometheus`;

async function refusal(env: NodeJS.ProcessEnv): Promise<PromfleetError> {
  const error = await findPromtool(env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromfleetError);
  return error as PromfleetError;
}

describeWith(missing, "a promtool without Kubernetes service discovery", () => {
  it("is refused when PROMFLEET_PROMTOOL names it, saying what is wrong and how to get the upstream build", async () => {
    const error = await refusal({ ...process.env, PROMFLEET_PROMTOOL: debianPromtool });
    expect(error.exitCode).toBe(ExitCode.missingTool);
    expect(error.message).toContain(`promtool at ${debianPromtool}`);
    expect(error.message).toContain("without Kubernetes service discovery");
    expect(error.message).toContain("kubernetes_sd_configs");
    expect(error.message).toContain(path.join(repoRoot, "scripts", "install-tools.sh"));
    expect(error.message).toContain("PROMFLEET_PROMTOOL");
  });

  it("is refused when it is the one on PATH", async () => {
    const pathDir = await mkdtemp(path.join(os.tmpdir(), "promfleet-path-"));
    await symlink(debianPromtool, path.join(pathDir, "promtool"));
    const noTools = await mkdtemp(path.join(os.tmpdir(), "promfleet-no-tools-"));
    const env = { ...process.env, PROMFLEET_TOOLS_DIR: noTools, PROMFLEET_PROMTOOL: "", PATH: pathDir };
    const error = await refusal(env);
    expect(error.exitCode).toBe(ExitCode.missingTool);
    expect(error.message).toContain("without Kubernetes service discovery");
  });

  it("stops validate with exit code 3 and the message, no stack trace", async () => {
    const repo = await exampleFleetRepo();
    const r = await promfleet(repo, ["validate"], { PROMFLEET_PROMTOOL: debianPromtool });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("without Kubernetes service discovery");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("lets the upstream promtool through", async () => {
    const promtool = await findPromtool({ ...process.env, PROMFLEET_PROMTOOL: "" });
    expect(promtool.path).toBe(path.join(repoRoot, ".tools", "bin", "promtool"));
  });
});
