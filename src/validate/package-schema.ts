/**
 * The package's values schema (a kapp-controller Package's spec.valuesSchema.openAPIv3): which Package
 * file to read, compiling its schema, and describing what the values break.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ErrorObject } from "ajv";
import type { FleetSpec } from "../fleet/spec.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { AJV_OPTIONS } from "./crd.js";
import { parseYamlCached } from "./yaml-cache.js";
import { instanceValidator, type InstanceValidator } from "./instance-schema.js";

/** A Package resource file, and where it was named (for messages). */
export interface PackageDefinition {
  file: string;
  /** `--package FILE` or `<spec> package.definition PATH`. */
  origin: string;
}

/** The Package to check values against: --package wins, else the spec's package.definition. */
export function packageDefinition(spec: FleetSpec, flag: string | undefined): PackageDefinition | undefined {
  if (flag) return { file: flag, origin: `--package ${flag}` };
  // Read defensively: the field is new in the spec schema.
  const named = spec.package.definition;
  if (!named) return undefined;
  return { file: path.join(spec.root, named), origin: `${spec.file} package.definition ${named}` };
}

/** The values schema of a Package resource (spec.valuesSchema.openAPIv3), ready to check values. */
export async function loadValuesSchema(pkg: PackageDefinition): Promise<InstanceValidator> {
  const read = await readPackage(pkg.file);
  if ("error" in read)
    throw new PromfleetError(
      `${pkg.origin}: ${read.error.code === "ENOENT" ? "no such file" : read.error.message}`,
      ExitCode.badInput,
    );
  const found = read.parsed as { kind?: string; spec?: { valuesSchema?: { openAPIv3?: object } } };
  const schema = found?.spec?.valuesSchema?.openAPIv3;
  if (!schema)
    throw new PromfleetError(
      `${pkg.origin}: no spec.valuesSchema.openAPIv3 (expected a kapp-controller Package resource, found ${found?.kind ?? "no YAML object"})\n` +
        "fix: export it from a cluster with the package repository: kubectl get package <refName>.<version> -n <namespace> -o yaml",
      ExitCode.badInput,
    );
  return instanceValidator(closed(schema as Schema), AJV_OPTIONS);
}

type Schema = Record<string, unknown>;

/**
 * Why the Package may not be the one the fleet installs (another refName or version, whose schema can
 * differ); undefined when it matches or cannot be read (loadValuesSchema reports that).
 */
export async function packageMismatch(
  pkg: PackageDefinition,
  installs: { refName: string; version: string },
): Promise<string | undefined> {
  const read = await readPackage(pkg.file);
  const parsed = "parsed" in read ? read.parsed : undefined;
  const found = (parsed as { spec?: { refName?: unknown; version?: unknown } } | undefined)?.spec;
  if (!found || (found.refName === installs.refName && found.version === installs.version)) return undefined;
  return (
    `${pkg.origin} is the Package ${String(found.refName)} ${String(found.version)}, but the fleet installs ` +
    `${installs.refName} ${installs.version}: its values schema may differ from the installed one`
  );
}

/**
 * The schema with every object that lists its properties closed to others, as the package author closed
 * the rest: the package's templates silently ignore a value they do not know, so a typo would be lost.
 */
function closed(node: Schema): Schema {
  const out: Schema = { ...node };
  if (isSchema(node.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [k, isSchema(v) ? closed(v) : v]),
    );
    if (!("additionalProperties" in node)) out.additionalProperties = false;
  }
  if (isSchema(node.items)) out.items = closed(node.items);
  return out;
}

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

type PackageRead = { parsed: unknown } | { error: NodeJS.ErrnoException };

/** The last Package text parsed: the mismatch warning and the schema read the same file (64 KB of YAML). */
let lastParsed: { text: string; parsed: unknown } | undefined;

async function readPackage(file: string): Promise<PackageRead> {
  try {
    const text = await readFile(file, "utf8");
    if (lastParsed?.text !== text) lastParsed = { text, parsed: await parseOrUndefined(text) };
    return { parsed: lastParsed.parsed };
  } catch (e) {
    return { error: e as NodeJS.ErrnoException };
  }
}

async function parseOrUndefined(text: string): Promise<unknown> {
  try {
    return await parseYamlCached(text);
  } catch {
    return undefined;
  }
}

/** What the schema rejects in the values, one `path message` per problem; undefined when they pass. */
export function valuesSchemaProblem(validate: InstanceValidator, values: unknown): string | undefined {
  const errors = validate(values);
  return errors.length > 0 ? errors.map(describe).join("; ") : undefined;
}

function describe(e: ErrorObject): string {
  const extra = (e.params as { additionalProperty?: string }).additionalProperty;
  const where = `${e.instancePath || ""}${extra ? `/${extra}` : ""}` || "/";
  return `${where} ${extra ? "is not a value the package knows" : e.message}`;
}
