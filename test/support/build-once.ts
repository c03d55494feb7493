/**
 * The CLI tests run `bin/promfleet.js`, which loads `dist/`: build it before any test, whatever the
 * entry point (`npm test`, `npx vitest run FILE`), from scratch, so a test never runs stale code.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  rmSync(path.join(root, "dist"), { recursive: true, force: true }); // tsc never removes a deleted module's output
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [path.join(root, "scripts", "bundle-cli.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
}
