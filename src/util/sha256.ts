/** SHA-256 digests: the one hashing helper for pinned downloads, cached files and tool binaries. */
import * as crypto from "node:crypto";

/** Node ≥ 20.12's one-shot hash skips a Hash object per call: render hashes every file of the tree. */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot("sha256", data, "hex") : crypto.createHash("sha256").update(data).digest("hex");
}

export function sha256Base64(data: string | Uint8Array): string {
  return crypto.createHash("sha256").update(data).digest("base64");
}
