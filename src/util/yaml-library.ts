/**
 * The yaml library, loaded on first use. Its modules take about 30 ms to load, and the commands most
 * run on large fleets (a render or `render --check` that finds nothing changed) never need it: js-yaml
 * reads the spec, and rendered YAML is written directly. It is CommonJS for Node (its package exports
 * `node: ./dist/index.js`), so `require` returns the very module an `import` of "yaml" would.
 */
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let library: typeof Yaml | undefined;

export function yamlLibrary(): typeof Yaml {
  return (library ??= loadYaml());
}

/**
 * In the CLI's bundle (dist/bundle/, where the build defines `require`) esbuild turns this `require`
 * into a call of its own bundled copy, the one the other modules' imports of "yaml" share, initialised
 * on this first call; run from the compiled modules or the sources, the package's.
 */
function loadYaml(): typeof Yaml {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: the bundle's own copy
  if (typeof require === "function") return require("yaml") as typeof Yaml;
  return createRequire(import.meta.url)("yaml") as typeof Yaml;
}
