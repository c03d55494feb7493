#!/usr/bin/env node
// Part of `npm run build` (and the tests' build), after tsc: the CLI that bin/promfleet.js runs, bundled
// from dist/ into dist/bundle/. Unbundled, a command first resolves and links about 150 ES modules one by
// one, plus execa's ~130 and yaml's ~80 when it uses them (0.1–0.2 s of a local command's CPU); the bundle
// is a handful of files, split at the CLI's lazy imports so that a command still loads only what it uses.
// The two worker threads (bcrypt hashing, diff groups) are entries of their own, beside the chunks that
// start them. Bundled: promfleet's code and the packages it imports (yaml, js-yaml, commander, execa,
// picocolors, fastest-levenshtein); yaml and execa still load on first use (util/yaml-library.ts,
// ytt/ytt.ts). Packages only some commands load, or loaded through createRequire, stay in node_modules.
// It also writes build-hash.txt, the identity of the code the CLI runs (util/build-hash.ts), computed here
// once instead of hashing the compiled files on every command, and bundled-packages.txt, which names each
// bundled package, its version and licence.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const outdir = path.join(dist, "bundle");

/** Loaded by some commands only, or through createRequire (which esbuild leaves alone anyway). */
const EXTERNAL = ["ajv", "ajv/*", "octokit", "handlebars", "fflate", "bcryptjs"];

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: {
    "early-start": path.join(dist, "early-start.js"),
    cli: path.join(dist, "cli.js"),
    "hash-worker": path.join(dist, "secrets", "hash-worker.js"),
    "diff-worker": path.join(dist, "diff", "diff-worker.js"),
  },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: EXTERNAL,
  // the bundled CommonJS packages (yaml, js-yaml, commander, execa's cross-spawn) require Node's built-ins
  banner: {
    js: 'import { createRequire as bundleRequire } from "node:module";\nconst require = bundleRequire(import.meta.url);',
  },
  sourcemap: true,
  legalComments: "eof",
  metafile: true,
  absWorkingDir: root,
  outdir,
  logLevel: "warning",
});

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

/** sha256 over the code the CLI runs: the bundle's files, by name. */
function codeHash() {
  const files = Object.keys(metafile.outputs)
    .filter((f) => f.endsWith(".js"))
    .sort();
  return sha256(files.map((f) => `${f}\0${sha256(readFileSync(path.join(root, f)))}`).join("\n"));
}

/** "name version (licence)" of every package whose code is in the bundle, in name order. */
function bundledPackages() {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    // the innermost package: a nested node_modules/ holds a dependency's own version
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(match[1]);
  }
  return [...dirs]
    .map((dir) => JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8")))
    .map((pkg) => `${pkg.name} ${pkg.version} (${pkg.license})`)
    .sort();
}

writeFileSync(path.join(outdir, "build-hash.txt"), `${codeHash()}\n`);
writeFileSync(
  path.join(outdir, "bundled-packages.txt"),
  [
    "npm packages whose code is in these files, unchanged (their licence texts: node_modules/<package>/):",
    ...bundledPackages(),
    "",
  ].join("\n"),
);
