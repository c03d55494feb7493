/**
 * yaml's `parse` and `parseAllDocuments` for the files `validate` and `diff` read by the thousand, with
 * js-yaml doing the reading whenever the spec's fast reader (src/fleet/plain-yaml.ts) is sure to give
 * yaml's value: js-yaml reads a rendered values.yaml ~5× faster than yaml builds its document. Anything
 * else (anchors, tags, multi-line flow collections, errors...) is read by yaml itself, so every error
 * and its message is yaml's own. The yaml library is loaded only when a text needs it: diff's cut texts
 * never do, and each of its worker threads would load it again.
 */
import { readPlainYaml } from "../fleet/plain-yaml.js";
import { yamlLibrary } from "../util/yaml-library.js";

/**
 * The fast reader follows the spec's options, which add merge keys to yaml's defaults: a text that may
 * hold one (`<<`) is left to yaml, which reads `<<` as a plain key.
 */
const MERGE_KEY = "<<";

/** The value `parse(text)` of the yaml library returns (and it throws what `parse` throws). */
export function parseYaml(text: string): unknown {
  return plainMapping(text) ?? yamlLibrary().parse(text);
}

/**
 * The documents' values as `parseAllDocuments(text)` gives them (`toJS()` of each, null for an empty
 * one), or yaml's error messages when any document has errors.
 */
export function parseYamlDocuments(text: string): { values: unknown[]; errors: string[] } {
  const values = plainDocuments(text);
  if (values) return { values, errors: [] };
  const docs = yamlLibrary().parseAllDocuments(text);
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
  return { values: errors.length > 0 ? [] : docs.map((d) => d.toJS() as unknown), errors };
}

/** A block mapping's value, or undefined when yaml has to read the text. */
function plainMapping(text: string): unknown {
  return text.includes(MERGE_KEY) ? undefined : readPlainYaml(text);
}

/** Blank or only a comment. */
const NOTHING = /^\s*(?:#.*)?\n?$/;

/**
 * A stream split at its `---` lines, each document a plainly read mapping; undefined when that may
 * differ from yaml's reading of the stream: a directive, a `...` or a `---` with more on its line, a
 * carriage return (a `---\r` line), or any document the fast reader declines. An anchor in one document
 * and its alias in another: the reader declines both.
 */
function plainDocuments(text: string): unknown[] | undefined {
  if (text.includes("\r")) return undefined;
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const separator = (l: string) => l === "---\n" || l === "---";
  if (lines.some((l) => /^(?:%|\.\.\.|---)/.test(l) && !separator(l))) return undefined;
  const pieces: string[][] = [[]];
  for (const line of lines) {
    if (separator(line)) pieces.push([]);
    else (pieces[pieces.length - 1] as string[]).push(line);
  }
  const values: unknown[] = [];
  for (const [i, piece] of pieces.entries()) {
    // yaml makes no document of what precedes the first `---` when that is only comments
    if (piece.every((l) => NOTHING.test(l))) {
      if (i > 0) values.push(null);
      continue;
    }
    const value = plainMapping(piece.join(""));
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values;
}
