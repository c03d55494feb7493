// The npm packages whose code an esbuild bundle holds, for the notice the build writes with it.
import { readFileSync } from "node:fs";
import path from "node:path";

/** "name version (licence)" of every package whose code is in the bundle `metafile` describes, by name. */
export function bundledPackages(root, metafile) {
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
