/** promfleet's own version. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./tool.js";

/** promfleet's own version, from its package.json (never the Tanzu package's version). */
export const PROMFLEET_VERSION: string = (
  JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }
).version;
