/**
 * The review's inputs: JSON files a pull request's own code produced (render --check --json,
 * validate --json, diff --format json), read as untrusted data: bounded in size, checked against a
 * schema, and a missing, empty or malformed file reported as such, never taken for "no problems".
 */
import { readFile, stat } from "node:fs/promises";
import { Ajv, type ValidateFunction } from "ajv";
import type { Problem } from "../util/errors.js";

/** Far above what a 1,000-cluster fleet produces; a larger file is not promfleet's output. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

export type InputName = "render" | "validate" | "diff" | "pull request";

/** One problem of a command's JSON error ({error, problems}), the shape promfleet's errors print. */
export type { Problem };

export interface RenderResult {
  error?: string;
  problems?: Problem[];
  created?: string[];
  updated?: string[];
  removed?: string[];
}

export interface ValidationResult {
  error?: string;
  problems?: Problem[];
  ok?: boolean;
  clusters?: Array<{
    name: string;
    checks: Array<{ check: string; ok: boolean; file: string; message?: string }>;
  }>;
  /** validate --changed-since: `unchanged` clusters were not validated, unless `all`. */
  changedSince?: { all?: boolean; unchanged?: number };
}

export interface DiffResult {
  error?: string;
  problems?: Problem[];
  clusters?: Array<{
    cluster: string;
    status: "added" | "removed" | "changed";
    changes: string[];
    /** Lines added and removed (diff --format json counts them; older output lacks them). */
    added?: number;
    removed?: number;
  }>;
}

/** What the pull_request job records about the run: which pull request, at which head. */
export interface PullRequestFacts {
  number: number;
  headSha: string;
}

export type Input<T> = { data: T } | { problem: string };

const text = { type: "string" };
const texts = { type: "array", items: text };
const count = { type: "integer", minimum: 0 };
const errorOnly = {
  error: text,
  problems: {
    type: "array",
    items: {
      type: "object",
      required: ["file", "message"],
      properties: { file: text, path: text, line: count, column: count, message: text, fix: text },
    },
  },
};

const SCHEMAS = {
  render: {
    type: "object",
    properties: {
      ...errorOnly,
      created: texts,
      updated: texts,
      removed: texts,
    },
    anyOf: [{ required: ["error"] }, { required: ["created", "updated", "removed"] }],
  },
  validate: {
    type: "object",
    properties: {
      ...errorOnly,
      ok: { type: "boolean" },
      clusters: {
        type: "array",
        items: {
          type: "object",
          required: ["name", "checks"],
          properties: {
            name: text,
            checks: {
              type: "array",
              items: {
                type: "object",
                required: ["check", "ok", "file"],
                properties: { check: text, ok: { type: "boolean" }, file: text, message: text },
              },
            },
          },
        },
      },
      changedSince: { type: "object", properties: { all: { type: "boolean" }, unchanged: count } },
    },
    anyOf: [{ required: ["error"] }, { required: ["clusters"] }],
  },
  diff: {
    type: "object",
    properties: {
      ...errorOnly,
      clusters: {
        type: "array",
        items: {
          type: "object",
          required: ["cluster", "status", "changes"],
          properties: {
            cluster: text,
            status: { enum: ["added", "removed", "changed"] },
            changes: texts,
            added: count,
            removed: count,
          },
        },
      },
    },
    anyOf: [{ required: ["error"] }, { required: ["clusters"] }],
  },
  "pull request": {
    type: "object",
    required: ["number", "headSha"],
    properties: {
      number: { type: "integer", minimum: 1 },
      headSha: { type: "string", pattern: "^[0-9a-f]{40}$" },
    },
  },
} as const;

let validators: Map<InputName, ValidateFunction> | undefined;

function validator(name: InputName): ValidateFunction {
  validators ??= new Map(
    Object.entries(SCHEMAS).map(([n, schema]) => [
      n as InputName,
      new Ajv({ strict: false, allErrors: false }).compile(schema),
    ]),
  );
  return validators.get(name) as ValidateFunction;
}

/** Reads one input file; every way it can be unusable is a problem naming the file, never an exception. */
export async function readInput<T>(name: InputName, file: string | undefined): Promise<Input<T>> {
  if (!file) return { problem: "not given" };
  const size = await stat(file).then(
    (s) => (s.isFile() ? s.size : -1),
    () => undefined,
  );
  if (size === undefined) return { problem: `${file} does not exist` };
  if (size < 0) return { problem: `${file} is not a file` };
  if (size > MAX_INPUT_BYTES) return { problem: `${file} is larger than ${MAX_INPUT_BYTES} bytes` };
  const content = await readFile(file, "utf8");
  if (content.trim() === "") return { problem: `${file} is empty (the step that writes it failed)` };
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    return { problem: `${file} is not JSON` };
  }
  const validate = validator(name);
  if (!validate(data)) {
    const first = validate.errors?.[0];
    return {
      problem: `${file} is not ${name} output (${first?.instancePath || "/"} ${first?.message ?? ""})`,
    };
  }
  return { data: data as T };
}
