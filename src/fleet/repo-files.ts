/**
 * Files the spec names inside the fleet repository (overlays, the package definition): each must exist
 * and, followed through symbolic links, stay inside the repository. The schema already keeps `..` and
 * absolute paths out.
 */
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { Problem } from "../util/errors.js";
import { pointerOf, type Locator } from "./locate.js";
import type { RawFleet } from "./schema.js";

interface FileReference {
  /** How the message names the file, e.g. "overlay". */
  role: string;
  file: string;
  pointer: string;
  /** How to create it when it is missing. */
  create: string;
}

const CREATE_OVERLAY = "create the file or correct the path (relative to the fleet root)";

export async function repoFileProblems(raw: RawFleet, at: Locator, root: string): Promise<Problem[]> {
  const realRoot = await realpath(root).catch(() => root);
  const refs = references(raw);
  const keyOf = (ref: FileReference) => `${ref.file}\0${ref.create}`;
  // many clusters name the same shared overlay: each file is looked at once, all at the same time
  const files = new Map(refs.map((ref) => [keyOf(ref), ref]));
  const found = new Map(
    await Promise.all(
      [...files].map(
        async ([key, ref]) =>
          [key, await fileProblem(realRoot, path.join(root, ref.file), ref.create)] as const,
      ),
    ),
  );
  return refs.flatMap((ref) => {
    const problem = found.get(keyOf(ref));
    return problem
      ? [{ ...at(ref.pointer), message: `${ref.role} ${ref.file} ${problem.message}`, fix: problem.fix }]
      : [];
  });
}

function references(raw: RawFleet): FileReference[] {
  return [
    ...packageDefinition(raw),
    ...(raw.overlays ?? []).map((file, j) => overlay(file, pointerOf("overlays", j))),
    ...raw.clusters.flatMap((c, i) =>
      (c.overlays ?? []).map((file, j) => overlay(file, pointerOf("clusters", i, "overlays", j))),
    ),
    ...raw.clusters.flatMap((c, i) =>
      (c.stagedOverlays ?? []).map((file, j) => overlay(file, pointerOf("clusters", i, "stagedOverlays", j))),
    ),
    ...(raw.rollout?.overlay ? [overlay(raw.rollout.overlay, pointerOf("rollout", "overlay"))] : []),
  ];
}

function overlay(file: string, pointer: string): FileReference {
  return { role: "overlay", file, pointer, create: CREATE_OVERLAY };
}

function packageDefinition(raw: RawFleet): FileReference[] {
  const file = raw.package.definition;
  if (file === undefined) return [];
  return [
    {
      role: "package definition",
      file,
      pointer: pointerOf("package", "definition"),
      create: exportPackage(raw, file),
    },
  ];
}

/** The Package as a cluster that has the package repository serves it. */
function exportPackage(raw: RawFleet, file: string): string {
  const name = `${raw.package.refName}.${raw.package.version}`;
  return `export it from a cluster with the package repository: kubectl get package ${name} -n <package repository namespace> -o yaml > ${file}, and commit it; or correct the path`;
}

async function fileProblem(
  realRoot: string,
  file: string,
  create: string,
): Promise<{ message: string; fix: string } | undefined> {
  const isFile = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) return { message: "does not exist", fix: create };
  const real = await realpath(file);
  if (!real.startsWith(realRoot + path.sep))
    return { message: `resolves outside the repository (${real})`, fix: "copy the file into the repository" };
  return undefined;
}
