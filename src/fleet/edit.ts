import { isMap, isSeq, parse, type Document, type YAMLMap, type YAMLSeq } from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";
import type { Role } from "./spec.js";

export interface NewCluster {
  name: string;
  role: Role;
  overlays: string[];
  /** Dotted path -> value, from --set key=value. */
  values: Record<string, unknown>;
  passwordHash?: string;
}

function clustersOf(doc: Document): YAMLSeq {
  const clusters = doc.get("clusters", true);
  if (!isSeq(clusters)) throw new PromfleetError("the fleet spec has no clusters list", ExitCode.badInput);
  return clusters;
}

function clusterIndex(doc: Document, name: string): number {
  return clustersOf(doc).items.findIndex((c) => isMap(c) && c.get("name") === name);
}

export function hasCluster(doc: Document, name: string): boolean {
  return clusterIndex(doc, name) >= 0;
}

/** Appends the cluster to `clusters`, leaving every other line of the file as it was. */
export function addCluster(doc: Document, c: NewCluster): void {
  const entry: Record<string, unknown> = { name: c.name, role: c.role };
  if (c.overlays.length > 0) entry.overlays = c.overlays;
  if (Object.keys(c.values).length > 0) entry.values = c.values;
  if (c.passwordHash) entry.credential = { passwordHash: c.passwordHash };
  clustersOf(doc).add(doc.createNode(entry) as YAMLMap);
}

export function removeCluster(doc: Document, name: string): void {
  const index = clusterIndex(doc, name);
  if (index >= 0) clustersOf(doc).delete(index);
}

/** Sets (undefined: removes) clusters[name].credential.<field>, leaving every other line as it was. */
export function setCredentialField(
  doc: Document,
  name: string,
  field: string,
  value: string | number | undefined,
): void {
  const index = clusterIndex(doc, name);
  if (index < 0) throw new PromfleetError(`cluster ${name} is not in the fleet spec`, ExitCode.badInput);
  if (value === undefined) doc.deleteIn(["clusters", index, "credential", field]);
  else doc.setIn(["clusters", index, "credential", field], value);
}

/** Sets clusters[name].credential.passwordHash, leaving every other line of the file as it was. */
export function setPasswordHash(doc: Document, name: string, hash: string): void {
  const index = clusterIndex(doc, name);
  if (index < 0) throw new PromfleetError(`cluster ${name} is not in the fleet spec`, ExitCode.badInput);
  doc.setIn(["clusters", index, "credential", "passwordHash"], hash);
}

/** `--set key=value`: the value is read as a YAML scalar (so 3 is a number, "3" a string), never spliced as text. */
export function parseSetFlags(flags: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const key = flag.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key))
      throw new PromfleetError(
        `--set ${flag}: expected key=value with a dotted key such as prometheus.pvc.storage=2Gi`,
        ExitCode.badInput,
      );
    values[key] = parse(flag.slice(eq + 1) || '""');
  }
  return values;
}
