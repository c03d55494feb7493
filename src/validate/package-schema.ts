import { readFile } from "node:fs/promises";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { ExitCode, PromfleetError } from "../util/errors.js";

/** The values schema of a Package resource (spec.valuesSchema.openAPIv3), compiled. */
export async function loadValuesSchema(file: string): Promise<ValidateFunction> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new PromfleetError(
      `--package ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`,
      ExitCode.badInput,
    );
  });
  const pkg = parseOrUndefined(text) as { kind?: string; spec?: { valuesSchema?: { openAPIv3?: object } } };
  const schema = pkg?.spec?.valuesSchema?.openAPIv3;
  if (!schema)
    throw new PromfleetError(
      `--package ${file}: no spec.valuesSchema.openAPIv3 (expected a kapp-controller Package resource, found ${pkg?.kind ?? "no YAML object"})`,
      ExitCode.badInput,
    );
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

function parseOrUndefined(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/** What the schema rejects in the values, one `path message` per problem; undefined when they pass. */
export function valuesSchemaProblem(validate: ValidateFunction, values: unknown): string | undefined {
  if (validate(values)) return undefined;
  return (validate.errors ?? []).map(describe).join("; ");
}

function describe(e: ErrorObject): string {
  const extra = (e.params as { additionalProperty?: string }).additionalProperty;
  const where = `${e.instancePath || "/"}${extra ? `/${extra}` : ""}`;
  return `${where} ${extra ? "is not a value the package knows" : e.message}`;
}
