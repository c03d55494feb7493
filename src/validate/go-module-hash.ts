/** Go's module hash (the `h1:` of go.sum), so a module zip from any proxy can be checked against a pin. */
import { sha256Base64, sha256Hex } from "../util/sha256.js";

/**
 * Go's dirhash.Hash1 of a module zip: sha256 over the sorted lines "<sha256 hex>  <file name>\n",
 * base64, prefixed "h1:" (golang.org/x/mod/sumdb/dirhash).
 */
export function moduleHash(files: Record<string, Uint8Array>): string {
  const names = Object.keys(files)
    .filter((name) => !name.endsWith("/"))
    .sort();
  const summary = names.map((name) => `${sha256Hex(files[name] as Uint8Array)}  ${name}\n`).join("");
  return `h1:${sha256Base64(summary)}`;
}
