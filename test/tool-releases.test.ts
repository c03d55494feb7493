/**
 * tools/releases.json (the release files the Actions install) pins the same versions as the Go modules
 * scripts/install-tools.sh builds, for linux amd64 and arm64, each with a sha256 and where it came from.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/fleet-repo.js";

interface Platform {
  url: string;
  sha256: string;
  format: string;
  files: Record<string, string>;
}
interface Manifest {
  tools: Record<string, { version: string; source: string; platforms: Record<string, Platform> }>;
}

/** The version tools/<tool>/go.mod requires of `module`. */
async function goModVersion(tool: string, module: string): Promise<string> {
  const goMod = await readFile(path.join(repoRoot, "tools", tool, "go.mod"), "utf8");
  const version = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, "\\.")} v(\\S+)`, "m").exec(
    goMod,
  )?.[1];
  if (!version) throw new Error(`${module} not in tools/${tool}/go.mod`);
  return version;
}

const expected: Record<string, { module: string; release: (version: string) => string }> = {
  ytt: {
    module: "carvel.dev/ytt",
    release: (v) => `https://github.com/carvel-dev/ytt/releases/download/v${v}/`,
  },
  promtool: {
    module: "github.com/prometheus/prometheus",
    release: (v) => `https://github.com/prometheus/prometheus/releases/download/v${v}/`,
  },
  kustomize: {
    module: "sigs.k8s.io/kustomize/kustomize/v5",
    release: (v) => `https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${v}/`,
  },
  sops: {
    module: "github.com/getsops/sops/v3",
    release: (v) => `https://github.com/getsops/sops/releases/download/v${v}/`,
  },
  age: {
    module: "filippo.io/age",
    release: (v) => `https://github.com/FiloSottile/age/releases/download/v${v}/`,
  },
};

describe("tools/releases.json", () => {
  it.each(Object.keys(expected))(
    "pins %s at install-tools.sh's version, for linux amd64 and arm64, with a sha256 and its source",
    async (tool) => {
      const manifest = JSON.parse(
        await readFile(path.join(repoRoot, "tools", "releases.json"), "utf8"),
      ) as Manifest;
      const entry = manifest.tools[tool];
      const { module, release } = expected[tool] as (typeof expected)[string];
      const goVersion = await goModVersion(tool, module);
      // Prometheus' Go module versions map to releases: v0.43.1 = 2.43.1, v0.316.0 = 3.16.0
      const version =
        tool === "promtool"
          ? goVersion.replace(/^0\.(\d+)\./, (_, minor: string) =>
              Number(minor) >= 300 ? `3.${Number(minor) - 300}.` : `2.${minor}.`,
            )
          : goVersion;
      expect(entry?.version).toBe(version);
      expect(entry?.source.length).toBeGreaterThan(20);
      expect(Object.keys(entry?.platforms ?? {}).sort()).toEqual(["linux-amd64", "linux-arm64"]);
      const sums = new Set<string>();
      for (const [platform, p] of Object.entries(entry?.platforms ?? {})) {
        expect(p.url.startsWith(release(version)), p.url).toBe(true);
        expect(p.url).toMatch(new RegExp(`linux[-_.]${platform.split("-")[1]}`));
        expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(Object.keys(p.files)).toContain(tool);
        sums.add(p.sha256);
      }
      expect(sums.size).toBe(2);
    },
  );
});
