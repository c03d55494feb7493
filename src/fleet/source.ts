/**
 * Reading `fleet.yaml` from disk and parsing it as YAML: a missing or unreadable file, syntax errors,
 * several documents in one file and merge keys all end here, explained in the spec's terms.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Document, LineCounter, YAMLError } from "yaml";
import { yamlLibrary } from "../util/yaml-library.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import type { SpecSource } from "./locate.js";
import { readPlainYamlShared, type PlainValueStore } from "./plain-yaml.js";

/** Parse options for every reader of the spec: `<<` merge keys are supported (YAML 1.1's), keys are unique. */
export const SPEC_YAML_OPTIONS = { uniqueKeys: true, merge: true } as const;

const POINT_AT_A_FLEET =
  "run 'promfleet init' to start a fleet here, or point promfleet at one: -C DIR (the fleet repository) or -f FILE (the spec inside it)";

/**
 * The spec's text and its path relative to the root; a PromfleetError (exit 2) naming the file and the fix
 * when there is none to read.
 */
export async function readFleetText(root: string, file: string): Promise<{ text: string; file: string }> {
  const absolute = path.resolve(root, file);
  const rel = path.relative(root, absolute) || file;
  try {
    return { text: await readFile(absolute, "utf8"), file: rel };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw unreadable(rel, { file: rel, message: readFailure(code, absolute), fix: readFix(code) });
  }
}

function readFailure(code: string | undefined, absolute: string): string {
  if (code === "ENOENT" || code === "ENOTDIR") return `there is no fleet spec at ${absolute}`;
  if (code === "EISDIR") return `${absolute} is a folder, not a fleet spec`;
  if (code === "EACCES" || code === "EPERM") return `${absolute} cannot be read: permission denied`;
  return `${absolute} cannot be read (${code ?? "unknown error"})`;
}

function readFix(code: string | undefined): string {
  if (code === "EACCES" || code === "EPERM") return "give your user read access to the file";
  return POINT_AT_A_FLEET;
}

function unreadable(file: string, problem: Problem): PromfleetError {
  return new PromfleetError(`${file}: no fleet spec to read; nothing was written`, ExitCode.badInput, [
    problem,
  ]);
}

export type ParsedSpec = SpecSource & { raw: unknown };

/**
 * The spec's single YAML document, or the problems that keep it from being one. Plain YAML is read by
 * js-yaml (plain-yaml.ts); the yaml library's document (for pointing at problems) is then parsed on first use.
 */
export function parseSpecYaml(text: string, file: string, store?: PlainValueStore): ParsedSpec | Problem[] {
  const raw = readPlainYamlShared(text, store);
  if (raw === undefined) return parseDocument(text, file);
  let full: ParsedSpec | undefined;
  const document = (): ParsedSpec => (full ??= parseDocument(text, file) as ParsedSpec);
  return {
    file,
    raw,
    get doc() {
      return document().doc;
    },
    get lines() {
      return document().lines;
    },
  };
}

function parseDocument(text: string, file: string): ParsedSpec | Problem[] {
  const { LineCounter, parseAllDocuments } = yamlLibrary();
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, ...SPEC_YAML_OPTIONS });
  const all: Document[] = Array.isArray(docs) ? docs : [];
  const errors = all.flatMap((d) => d.errors).map((e) => syntaxProblem(e, file));
  if (errors.length > 0) return errors;
  const written = all.filter(hasContent);
  if (written.length > 1) return [severalDocuments(written, lines, file)];
  const doc = written[0];
  if (!doc)
    return [
      {
        file,
        message: "the fleet spec is empty",
        fix: "run 'promfleet init', or start from the example in the README's \"The fleet spec\"",
      },
    ];
  return { file, doc, lines, raw: doc.toJS() };
}

/** A lone `---` (leading or trailing) makes a document with nothing in it. */
function hasContent(doc: Document): boolean {
  return doc.contents !== null && !(yamlLibrary().isScalar(doc.contents) && doc.contents.value === null);
}

/** The yaml library's messages end with its own position; ours come first, so drop it. */
function syntaxProblem(e: YAMLError, file: string): Problem {
  const message = e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? e.code;
  return {
    file,
    line: e.linePos?.[0]?.line,
    column: e.linePos?.[0]?.col,
    message: `not valid YAML: ${SYNTAX_MESSAGES[e.code] ?? message}`,
    fix: SYNTAX_FIXES[e.code] ?? "correct the YAML syntax at this position",
  };
}

const SYNTAX_MESSAGES: Partial<Record<YAMLError["code"], string>> = {
  DUPLICATE_KEY: "this key appears twice in the same mapping",
  TAB_AS_INDENT: "a tab is used for indentation",
};

const SYNTAX_FIXES: Partial<Record<YAMLError["code"], string>> = {
  DUPLICATE_KEY:
    "keep one of the two (to share settings between clusters, use an anchor and a `<<:` merge key)",
  TAB_AS_INDENT: "indent with spaces",
};

function severalDocuments(written: Document[], lines: LineCounter, file: string): Problem {
  const { line, col } = lines.linePos(written[1]?.range?.[0] ?? 0);
  return {
    file,
    line,
    column: col,
    message: `the file holds ${written.length} YAML documents, separated by '---' lines; a fleet spec is one document`,
    fix: "keep one fleet per file: merge the documents into one and remove the '---' line between them (several fleets need several repositories or files, chosen with -f FILE)",
  };
}
