#!/usr/bin/env node
// Part of `npm run build` (and the tests' build), after tsc: the CLI that bin/promfleet.js runs, bundled
// from dist/ into dist/bundle/. Unbundled, every command first resolves and links about 150 ES modules
// one by one (0.05–0.1 s of a local command's CPU, before it does anything); the bundle is a handful of
// files, split at the CLI's lazy imports so that a command still loads only what it uses. The two worker
// threads (bcrypt hashing, diff groups) are entries of their own, next to the chunks that start them.
// Bundled: promfleet's code and the packages it imports statically (yaml, js-yaml, commander, picocolors,
// fastest-levenshtein); yaml keeps loading on first use (util/yaml-library.ts). Packages only some
// commands load, or loaded through createRequire, stay in node_modules (external), as does execa: its
// own bundle is dist/vendor/execa.js (scripts/bundle-execa.mjs).
// It also writes dist/bundle/build-hash.txt: the identity of the code the CLI runs (util/build-hash.ts),
// computed here once instead of hashing the compiled files on every command; and bundled-packages.txt,
// which names each bundled package, its version and licence.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundledPackages } from "./bundled-packages.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const outdir = path.join(dist, "bundle");

/** Loaded by some commands only, or through createRequire (which esbuild leaves alone anyway). */
const EXTERNAL = ["ajv", "ajv/*", "octokit", "handlebars", "fflate", "bcryptjs", "execa"];

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: {
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
  // the bundled CommonJS packages (yaml, js-yaml, commander) require Node's built-in modules
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

/** sha256 over the code the CLI runs: the bundle's files and the execa bundle it loads, by name. */
function codeHash() {
  const files = [
    ...Object.keys(metafile.outputs).filter((f) => f.endsWith(".js")),
    path.relative(root, path.join(dist, "vendor", "execa.js")),
  ].sort();
  const entries = files.map(
    (f) =>
      `${f}\0${createHash("sha256")
        .update(readFileSync(path.join(root, f)))
        .digest("hex")}`,
  );
  return createHash("sha256").update(entries.join("\n")).digest("hex");
}

writeFileSync(path.join(outdir, "build-hash.txt"), `${codeHash()}\n`);
writeFileSync(
  path.join(outdir, "bundled-packages.txt"),
  [
    "npm packages whose code is in these files, unchanged (their licence texts: node_modules/<package>/):",
    ...bundledPackages(root, metafile),
    "",
  ].join("\n"),
);
