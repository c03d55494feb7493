import { mkdtemp, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { promfleet } from "./helpers/fleet-repo.js";

const GOOD: Record<string, string> = {
  "--aggregator": "hub",
  "--remote-write-url": "https://prom.example.com/api/v1/write",
  "--git-url": "https://github.com/acme/fleet.git",
  "--package-version": "2.43.0+vmware.2-tkg.1",
  "--delivery": "flux",
  "--age-recipient": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
  "--codeowner": "@acme/fleet-admins",
};

function flags(overrides: Record<string, string> = {}): string[] {
  return Object.entries({ ...GOOD, ...overrides }).flat();
}

async function emptyDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "promfleet-init-flags-"));
}

describe("promfleet init: every flag value written into a file is checked first", () => {
  it("refuses a name that YAML would cut at a comment, naming the flag and the rule", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, ["init", ...flags({ "--aggregator": "hub #x" })]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--aggregator: "hub #x"');
    expect(result.stderr).toContain("DNS-1123");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(dir)).toEqual([]);
  });

  // the class: a newline (or a YAML comment) in any flag must never add or change a spec key
  for (const flag of Object.keys(GOOD))
    it(`refuses ${flag} with an injected line, writing nothing`, async () => {
      const dir = await emptyDir();
      const injected = `${GOOD[flag]}\nguardClusterLabel: false`;
      const result = await promfleet(dir, ["init", ...flags({ [flag]: injected })]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`${flag}: ${JSON.stringify(injected)}`);
      expect(await readdir(dir)).toEqual([]);
    });

  it("reports every bad flag at once", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, [
      "init",
      ...flags({ "--aggregator": "Hub_1", "--delivery": "argo", "--remote-write-url": "ftp://x" }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--aggregator: "Hub_1"');
    expect(result.stderr).toContain('--delivery: "argo"');
    expect(result.stderr).toContain('--remote-write-url: "ftp://x"');
    expect(await readdir(dir)).toEqual([]);
  });

  it("answers --json with JSON naming the flag, also when it refuses", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, ["init", ...flags({ "--aggregator": "hub #x" }), "--json"]);
    expect(result.code).toBe(2);
    const answer = JSON.parse(result.stdout) as { error: string; problems: Array<{ path: string }> };
    expect(answer.problems.map((p) => p.path)).toEqual(["--aggregator"]);
  });

  it("refuses credentials inside --git-url or --remote-write-url (they would be committed)", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, [
      "init",
      ...flags({
        "--git-url": "https://x-access-token:ghp_secret@github.com/acme/fleet.git",
        "--remote-write-url": "https://hub:pw@prom.example.com/api/v1/write",
      }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--git-url: .*credentials/);
    expect(result.stderr).toMatch(/--remote-write-url: .*credentials/);
    expect(result.stderr).not.toContain("ghp_secret");
    expect(result.stderr).not.toContain("hub:pw");
    expect(await readdir(dir)).toEqual([]);
  });

  it("writes exactly the spec the flags describe, with its comments", async () => {
    const dir = await emptyDir();
    const result = await promfleet(dir, ["init", ...flags({ "--package-version": "1.0" })]);
    // 1.0 is a fine version string; written unquoted it would read back as the number 1
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    const spec = parse(text) as Record<string, unknown>;
    const hash = (spec.clusters as Array<{ credential: { passwordHash: string } }>)[0]?.credential
      .passwordHash;
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    expect(spec).toEqual({
      apiVersion: "promfleet.dev/v1alpha1",
      kind: "Fleet",
      package: { refName: "prometheus.tanzu.vmware.com", version: "1.0", namespace: "tkg-system" },
      git: { url: "https://github.com/acme/fleet.git", branch: "main" },
      delivery: "flux",
      remoteWrite: { url: "https://prom.example.com/api/v1/write" },
      secrets: { provider: "sops", sops: { ageRecipients: [GOOD["--age-recipient"]] } },
      clusters: [
        {
          name: "hub",
          role: "aggregator",
          ingress: { host: "prom.example.com" },
          retention: "15d",
          credential: { passwordHash: hash },
        },
      ],
    });
    expect(text).toMatch(/^# promfleet fleet spec/);
    expect(text).toContain("# The aggregator: receives");
    expect(text).toContain("# Agents are added with: promfleet onboard-cluster <name> --pr");
  });

  it("takes git.url from the origin remote without the credentials a CI checkout puts there", async () => {
    const dir = await emptyDir();
    await execa("git", ["init", "-q", dir]);
    await execa("git", [
      "-C",
      dir,
      "remote",
      "add",
      "origin",
      "https://x-access-token:ghp_secret@github.com/acme/fleet.git",
    ]);
    const rest = flags();
    rest.splice(rest.indexOf("--git-url"), 2);
    const result = await promfleet(dir, ["init", ...rest]);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(path.join(dir, "fleet.yaml"), "utf8");
    expect((parse(text) as { git: { url: string } }).git.url).toBe("https://github.com/acme/fleet.git");
    expect(result.stdout + result.stderr).not.toContain("ghp_secret");
  });
});
