/**
 * execa, as the build bundles it into one file (scripts/bundle-execa.mjs → dist/vendor/execa.js):
 * loading the ~130 modules of the published package one by one costs a command that runs ytt 0.15 s of
 * CPU, the bundle a fifth of that. From the TypeScript sources (tests importing src/), the package itself.
 */
import type * as Execa from "execa";

export type ExecaModule = Pick<typeof Execa, "execa">;

export async function loadExeca(): Promise<ExecaModule> {
  if (import.meta.url.endsWith(".ts")) return import("execa");
  return (await import(new URL("../vendor/execa.js", import.meta.url).href)) as ExecaModule;
}
