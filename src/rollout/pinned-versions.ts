/**
 * validate checks every cluster's values against the one Package the spec names (the vendored package
 * has a single version). A cluster pinned to another version is checked against that same schema; say so,
 * per pinned version, when the Package is not that version.
 */
import type { FleetSpec } from "../fleet/spec.js";
import { packageMismatch, type PackageDefinition } from "../validate/package-schema.js";

export async function pinnedVersionWarnings(
  spec: FleetSpec,
  definition: PackageDefinition | undefined,
): Promise<string[]> {
  if (!definition) return [];
  const byVersion = new Map<string, string[]>();
  for (const c of spec.clusters)
    if (c.packageVersion !== undefined && c.packageVersion !== spec.package.version)
      byVersion.set(c.packageVersion, [...(byVersion.get(c.packageVersion) ?? []), c.name]);
  const warnings: string[] = [];
  for (const [version, names] of byVersion) {
    const mismatch = await packageMismatch(definition, { refName: spec.package.refName, version });
    if (mismatch) warnings.push(`pinned to ${version} (${names.join(", ")}): ${mismatch}`);
  }
  return warnings;
}
