import { mkdir, mkdtemp, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { connectGitHub, type GitHub } from "../src/github/client.js";
import { deleteFile, writeFile as writeChange } from "../src/layout/file-change.js";
import { TOKEN } from "./helpers/github.js";
import { startFakeGitHub, type FakeGitHub } from "./support/fake-github/index.js";

const SEED: Record<string, string> = {
  "fleet.yaml": "clusters: []\n",
  "clusters/hub/values.yaml": "a: 1\n",
  "clusters/old/values.yaml": "b: 1\n",
};

let fake: FakeGitHub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function port(): Promise<{ fake: FakeGitHub; gh: GitHub }> {
  const seed = await mkdtemp(path.join(os.tmpdir(), "promfleet-port-seed-"));
  for (const [rel, content] of Object.entries(SEED)) {
    await mkdir(path.dirname(path.join(seed, rel)), { recursive: true });
    await writeFile(path.join(seed, rel), content);
  }
  fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: seed });
  const gh = await connectGitHub(
    { owner: "acme", repo: "fleet" },
    { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.url },
  );
  return { fake, gh };
}

describe("the GitHub port against the fake GitHub", { timeout: 120_000 }, () => {
  it("reads a file and a folder's subfolders at a ref, undefined for what is not there", async () => {
    const { fake, gh } = await port();
    const head = await fake.commitToBranch("feature", { "fleet.yaml": "clusters: [x]\n" }, "edit");
    expect(await gh.readFile("fleet.yaml", "main")).toBe("clusters: []\n");
    expect(await gh.readFile("fleet.yaml", head)).toBe("clusters: [x]\n");
    expect(await gh.readFile("missing.yaml", "main")).toBeUndefined();
    expect(await gh.readFile("clusters", "main")).toBeUndefined(); // a folder is no file
    expect((await gh.subfolders("clusters", head))?.sort()).toEqual(["hub", "old"]);
    expect(await gh.subfolders("nope", head)).toBeUndefined();
    expect(fake.validationErrors).toEqual([]);
  });

  it("commits FileChange[] with their modes and deletions, and re-running changes nothing", async () => {
    const { fake, gh } = await port();
    const base = await gh.snapshotBase("main");
    const files = [
      writeChange("scripts/hook.sh", "#!/bin/sh\necho hi\n", "100755"),
      writeChange("clusters/hub/values.yaml", "a: 2\n"),
      deleteFile("clusters/old/values.yaml"),
    ];
    const proposal = {
      base: "main",
      branch: "promfleet/t",
      files,
      message: "m",
      title: "t",
      body: "b",
      labels: ["x"],
    };
    try {
      const first = await gh.proposeChange(base, proposal);
      expect(first.outcome).toBe("created");
      const open = await gh.findOpenPull("main", "promfleet/t");
      expect((await gh.proposeChange(base, proposal, open)).outcome).toBe("unchanged");
      expect(await gh.pull(first.pr.number)).toMatchObject({
        state: "open",
        headSha: first.commit,
        baseRef: "main",
      });
    } finally {
      await base.cleanup();
    }
    const clone = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-port-clone-")), "c");
    await execa("git", ["clone", "-q", "--branch", "promfleet/t", fake.bareRepo, clone]);
    expect((await stat(path.join(clone, "scripts/hook.sh"))).mode & 0o111).not.toBe(0);
    expect((await stat(path.join(clone, "clusters/hub/values.yaml"))).mode & 0o111).toBe(0);
    await expect(stat(path.join(clone, "clusters/old/values.yaml"))).rejects.toThrow();
    expect(fake.validationErrors).toEqual([]);
  });

  it("records a deployment with its status", async () => {
    const { fake, gh } = await port();
    const id = await gh.createDeployment({
      ref: "main",
      environment: "hub",
      description: "d",
      payload: { changes: ["x"] },
      state: "success",
      statusDescription: "s",
    });
    expect(fake.deployments()).toEqual([
      expect.objectContaining({ id, ref: "main", environment: "hub", statuses: ["success"] }),
    ]);
  });
});
