/** The identity of promfleet's compiled code, for what it keeps between runs (render records, caches). */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./tool.js";
import { sha256Hex } from "./sha256.js";

let cachedBuildHash: string | undefined;

/**
 * sha256 over promfleet's own compiled code. The version alone is not enough: a checkout of promfleet
 * (its own CI, a user running from a branch) changes code without changing the version, and what older
 * code made (rendered output, a parsed spec) must then not be kept. The build writes the hash of the
 * code the CLI runs beside its bundle (scripts/bundle-cli.mjs), so a command reads 64 characters instead
 * of hashing the compiled files; without a bundle, dist/'s modules are hashed.
 */
export function buildHash(): string {
  cachedBuildHash ??= bundleHash() ?? compiledModulesHash();
  return cachedBuildHash;
}

function bundleHash(): string | undefined {
  try {
    const hash = readFileSync(path.join(packageRoot, "dist", "bundle", "build-hash.txt"), "utf8").trim();
    return /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
  } catch {
    return undefined;
  }
}

function compiledModulesHash(): string {
  const dist = path.join(packageRoot, "dist");
  const files = readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".js"))
    .sort();
  return sha256Hex(files.map((f) => `${f}\0${sha256Hex(readFileSync(path.join(dist, f)))}`).join("\n"));
}
