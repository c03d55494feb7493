/** Writes a file atomically: a temporary file in the same folder, then a rename. */
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Writes `file` so that a reader sees either its old content or the new, never a part of it: the
 * content goes to a temporary file beside it, which is then renamed over it. With `mode`, the file has
 * exactly that mode (chmod after writing, so the umask cannot widen or narrow it).
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  mode?: number,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, content, mode === undefined ? undefined : { mode });
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
