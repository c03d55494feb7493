/**
 * The yaml library, loaded on first use. Its modules take about 30 ms to load, and the commands most
 * run on large fleets (a render or `render --check` that finds nothing changed) never need it: js-yaml
 * reads the spec, and rendered YAML is written directly. It is CommonJS for Node (its package exports
 * `node: ./dist/index.js`), so `require` returns the very module an `import` of "yaml" would.
 */
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

const require = createRequire(import.meta.url);
let library: typeof Yaml | undefined;

export function yamlLibrary(): typeof Yaml {
  return (library ??= require("yaml") as typeof Yaml);
}
