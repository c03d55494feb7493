/** Validates Kubernetes resources against CRDs' openAPIV3Schema. */
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { writeFileAtomic } from "../util/atomic-write.js";
import { sha256Hex } from "../util/sha256.js";
import { instanceValidator, type InstanceValidator } from "./instance-schema.js";

type Schema = Record<string, unknown>;

/**
 * Every error, unknown keywords tolerated (CRD and Package schemas carry their own); no optimising pass
 * over the generated code, which costs a third of compiling the kapp-controller App schema and saves
 * nothing measurable in one run of validate (the code it simplifies gives the same results).
 */
export const AJV_OPTIONS = { allErrors: true, strict: false, code: { optimize: false } } as const;
/** Any Kubernetes resource, as parsed from YAML. */
export type KubeResource = { apiVersion?: unknown; kind?: unknown; [field: string]: unknown };

/**
 * Validates resources against the openAPIV3Schema of their CustomResourceDefinition, the way the API
 * server would accept them, and stricter in one way: a field the schema does not know is an error
 * (the API server would silently prune it, so a typo would be lost without a word).
 */
export class CrdValidator {
  /** Made on first use: a fleet uses a few of the kinds a release's CRDs define. */
  private readonly validators = new Map<string, InstanceValidator | Schema>();
  /** API group -> the `group/version/Kind` keys its CRDs define. */
  private readonly groups = new Map<string, string[]>();
  /** Every schema as loaded, in the order the files define them (the cache replays it). */
  private readonly added: CachedSchema[] = [];

  /**
   * Loads every CRD in the given YAML files or directories. With `cacheDir`, the schemas found are kept
   * there as JSON under a hash of the files' content and of this code (parsing a release's CRD files
   * costs more than the checks of one cluster): the same files are read from there next time, and any
   * other content, or an unreadable entry, is parsed again.
   */
  static async load(paths: string[], cacheDir?: string): Promise<CrdValidator> {
    const texts = await Promise.all((await expand(paths)).map((f) => readFile(f, "utf8")));
    const file = cacheDir && path.join(cacheDir, `${schemaCacheKey(texts)}.json`);
    const validator = new CrdValidator();
    const cached = file ? readCachedSchemas(file) : undefined;
    if (cached) {
      for (const [group, key, schema] of cached) validator.addSchema(group, key, schema);
      return validator;
    }
    for (const text of texts) for (const doc of parseAllDocuments(text)) validator.add(doc.toJS() as Schema);
    const json = validator.schemasJson();
    // a value JSON cannot hold (.inf, .nan) would come back otherwise: such CRDs are parsed every time
    const faithful = isDeepStrictEqual((JSON.parse(json) as { schemas: unknown }).schemas, validator.added);
    if (file && faithful) await writeFileAtomic(file, json).catch(() => undefined);
    return validator;
  }

  private add(crd: Schema | null): void {
    if (crd?.kind !== "CustomResourceDefinition") return;
    const spec = crd.spec as
      | {
          group?: string;
          names?: { kind?: string };
          versions?: Array<{ name: string; schema?: { openAPIV3Schema?: Schema } }>;
        }
      | undefined;
    if (!spec?.group || !spec.names?.kind || !Array.isArray(spec.versions)) return;
    for (const version of spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      this.addSchema(spec.group, `${spec.group}/${version.name}/${spec.names.kind}`, schema);
    }
  }

  /** A `group/version/Kind` schema (defined again: the last one counts, and its group lists it twice). */
  private addSchema(group: string, key: string, schema: Schema): void {
    this.validators.set(key, schema);
    this.added.push([group, key, schema]);
    this.groups.set(group, [...(this.groups.get(group) ?? []), key]);
  }

  /** The schemas as loaded, in order: what the cache keeps. */
  private schemasJson(): string {
    return JSON.stringify({ schemas: this.added });
  }

  /** How many group/version/kind schemas were loaded. */
  get size(): number {
    return this.validators.size;
  }

  knows(resource: KubeResource): boolean {
    return this.validators.has(`${String(resource.apiVersion)}/${String(resource.kind)}`);
  }

  /**
   * Why a resource in an API group these CRDs define matches none of them (a wrong version or kind,
   * which the API server would reject); undefined when it is known or its group is not covered.
   */
  unknownKind(resource: KubeResource): string | undefined {
    const apiVersion = String(resource.apiVersion);
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    const defined = this.groups.get(group);
    if (!defined || this.knows(resource)) return undefined;
    const served = defined.map((k) => k.split("/").slice(1).join("/")).sort();
    return `${apiVersion} ${String(resource.kind)}: no CRD defines it; group ${group} has ${served.join(", ")}`;
  }

  /** Problems with one resource, each as `path: message`; empty when valid or when no CRD covers it. */
  validate(resource: KubeResource): string[] {
    const validate = this.compiled(`${String(resource.apiVersion)}/${String(resource.kind)}`);
    return (validate?.(resource) ?? []).map((e) => {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      const where = `${e.instancePath || "/"}${extra ? `/${extra}` : ""}`;
      return `${where}: ${extra ? "unknown field" : e.message}`;
    });
  }

  private compiled(key: string): InstanceValidator | undefined {
    const found = this.validators.get(key);
    if (typeof found === "function" || found === undefined) return found;
    const compiled = instanceValidator(toJsonSchema(found, true), AJV_OPTIONS);
    this.validators.set(key, compiled);
    return compiled;
  }
}

/** Changes with the CRD files' content and order, and with this code (how schemas are read from CRDs). */
function schemaCacheKey(texts: string[]): string {
  const code = readFileSync(fileURLToPath(import.meta.url));
  return sha256Hex([sha256Hex(code), ...texts.map((t) => sha256Hex(t))].join("\n"));
}

/** `[group, group/version/Kind, openAPIV3Schema]` */
type CachedSchema = [string, string, Schema];

/** The cached schemas, or undefined when the entry is missing or not what this code writes. */
function readCachedSchemas(file: string): CachedSchema[] | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { schemas?: unknown };
    const schemas = parsed.schemas;
    const valid =
      Array.isArray(schemas) &&
      schemas.every(
        (e) =>
          Array.isArray(e) &&
          e.length === 3 &&
          typeof e[0] === "string" &&
          typeof e[1] === "string" &&
          e[1].startsWith(`${e[0]}/`) &&
          typeof e[2] === "object" &&
          e[2] !== null,
      );
    return valid ? (schemas as CachedSchema[]) : undefined;
  } catch {
    return undefined;
  }
}

async function expand(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const entries = await readdir(p).catch(() => undefined);
    if (!entries) files.push(p);
    else
      files.push(
        ...entries
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => path.join(p, f)),
      );
  }
  return files;
}

/** Kubernetes structural schema -> JSON Schema: closed objects unless they preserve unknown fields. */
function toJsonSchema(node: Schema, isRoot = false): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties")
      out.properties = mapValues(value as Record<string, Schema>, (s) => toJsonSchema(s));
    else if (key === "items" || key === "additionalProperties")
      out[key] = typeof value === "object" && value !== null ? toJsonSchema(value as Schema) : value;
    else if (key === "allOf" || key === "anyOf" || key === "oneOf")
      out[key] = (value as Schema[]).map((s) => toJsonSchema(s));
    else if (!key.startsWith("x-kubernetes-") && key !== "format") out[key] = value;
  }
  if (node["x-kubernetes-int-or-string"])
    return { ...out, type: undefined, anyOf: [{ type: "integer" }, { type: "string" }] };
  if (
    node.type === "object" &&
    node.properties &&
    !node["x-kubernetes-preserve-unknown-fields"] &&
    !("additionalProperties" in node)
  ) {
    out.additionalProperties = false;
    // apiVersion/kind/metadata are checked by the API server itself, not by the CRD schema.
    if (isRoot)
      out.properties = {
        apiVersion: {},
        kind: {},
        metadata: { type: "object" },
        ...(out.properties as Schema),
      };
  }
  if (out.type === undefined) delete out.type;
  return out;
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
