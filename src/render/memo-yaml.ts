/** Serialises YAML that is the same for many clusters once, byte-identical to plain serialisation. */
import { surelyPlain, toYaml, toYamlDocuments } from "./yaml-format.js";

/**
 * Serialising YAML is most of render's own CPU time on large fleets, and most of what it serialises is
 * the same for every cluster but for the cluster's name. These helpers serialise each shape once and
 * substitute, and fall back to plain serialisation whenever the substitution could differ from it
 * (a test compares both on every rendered file).
 */

/** Not a DNS-1123 label (the underscore), so it can never be a real cluster's name; plain in YAML. */
const NAME_SENTINEL = "promfleet_cluster_name";
const TEXT_SENTINEL = "promfleet_text_placeholder";

export class MemoYaml {
  private readonly shapes = new Map<string, string>();
  private readonly items = new Map<string, string>();
  private readonly texts = new Map<string, string>();
  private readonly plainNames = new Map<string, boolean>();

  /** The documents `build(name)` returns, serialised: once per shape, then with the name substituted. */
  documents(name: string, build: (name: string) => unknown[]): string {
    if (!this.isPlain(name)) return toYamlDocuments(build(name));
    return this.shape(build(NAME_SENTINEL)).split(NAME_SENTINEL).join(name);
  }

  /**
   * Documents with one block of text (a values file) under `key`: the text is indented into a literal
   * block exactly as the yaml library would, when it is simple enough to be sure of that.
   */
  documentsWithText(build: (text: string) => unknown[], key: string, text: string): string {
    const template = this.shape(build(TEXT_SENTINEL));
    return spliceBlock(template, key, text) ?? toYamlDocuments(build(text));
  }

  /**
   * A map holding one block of text at `at` (a values file's prometheus_yml): the rest is serialised
   * once per shape and the text spliced in as the yaml library would.
   */
  mapWithText(map: Record<string, unknown>, at: string[]): string {
    const withSentinel = replaceAt(map, at, TEXT_SENTINEL);
    const text = valueAt(map, at);
    if (!withSentinel || typeof text !== "string") return toYaml(map);
    const template = cached(this.texts, JSON.stringify(withSentinel), () => toYaml(withSentinel));
    return spliceBlock(template, at[at.length - 1] as string, text) ?? toYaml(map);
  }

  /**
   * A map whose `key` holds a list of maps (a Prometheus config's scrape_configs): each list item is
   * serialised once per distinct item and spliced in where the yaml library would put it.
   */
  mapWithList(map: Record<string, unknown>, key: string): string {
    const items = map[key];
    if (!Array.isArray(items) || items.length === 0) return toYaml(map);
    const outer = toYaml({ ...map, [key]: TEXT_SENTINEL });
    const line = `${key}: ${TEXT_SENTINEL}\n`;
    const at = outer.startsWith(line) ? 0 : outer.indexOf(`\n${line}`) + 1;
    if (at === 0 && !outer.startsWith(line)) return toYaml(map);
    const list = items.map((item) => this.item(item)).join("");
    return `${outer.slice(0, at)}${key}:\n${list}${outer.slice(at + line.length)}`;
  }

  private item(item: unknown): string {
    return cached(this.items, JSON.stringify(item), () => toYaml([item]));
  }

  /** Whether YAML writes `name` as it is (not quoted: "true", "123" and the like are). */
  private isPlain(name: string): boolean {
    return surelyPlain(name) || cached(this.plainNames, name, () => toYaml(name) === `${name}\n`);
  }

  private shape(docs: unknown[]): string {
    return cached(this.shapes, JSON.stringify(docs), () => toYamlDocuments(docs));
  }
}

function cached<T>(cache: Map<string, T>, key: string, produce: () => T): T {
  let value = cache.get(key);
  if (value === undefined) cache.set(key, (value = produce()));
  return value;
}

/** Where a template's one `key: <sentinel>` line is: the text around it and its indent. */
interface SpliceSite {
  before: string;
  after: string;
  indent: string;
}

const spliceSites = new Map<string, Map<string, SpliceSite | null>>();

function spliceSite(template: string, key: string): SpliceSite | null {
  const line = `${key}: ${TEXT_SENTINEL}`;
  const lines = template.split("\n").filter((l) => l.trimStart() === line);
  const found = lines[0];
  if (lines.length !== 1 || found === undefined) return null;
  const at = template.indexOf(`${found}\n`);
  return {
    before: template.slice(0, at),
    after: template.slice(at + found.length + 1),
    indent: found.slice(0, found.length - found.trimStart().length),
  };
}

/** `template` with its one `key: <sentinel>` line turned into `key: |` and the indented text; else undefined. */
function spliceBlock(template: string, key: string, text: string): string | undefined {
  let byKey = spliceSites.get(template);
  if (!byKey) spliceSites.set(template, (byKey = new Map()));
  let site = byKey.get(key);
  if (site === undefined) byKey.set(key, (site = spliceSite(template, key)));
  if (site === null || !isSimpleBlock(text)) return undefined;
  // every non-empty line indented (an empty line stays empty), without the final newline's
  const pad = `${site.indent}  `;
  const body = text.slice(0, -1);
  // without blank lines every newline in body starts a non-empty line: a plain replaceAll, twice as fast
  const indented = body.includes("\n\n")
    ? body.replace(/\n(?=[^\n])/g, `\n${pad}`)
    : body.replaceAll("\n", `\n${pad}`);
  const block = (body.startsWith("\n") ? "" : pad) + indented;
  return `${site.before}${site.indent}${key}: |\n${block}\n${site.after}`;
}

function valueAt(map: unknown, at: string[]): unknown {
  return at.reduce<unknown>((node, key) => (node as Record<string, unknown> | null)?.[key], map);
}

/** A copy of `map` with the value at `at` replaced (only the maps along the path are copied); undefined when there is none. */
function replaceAt(
  map: Record<string, unknown>,
  at: string[],
  value: unknown,
): Record<string, unknown> | undefined {
  const [key, ...rest] = at;
  if (key === undefined || !Object.hasOwn(map, key)) return undefined;
  if (rest.length === 0) return { ...map, [key]: value };
  const child = map[key];
  if (typeof child !== "object" || child === null || Array.isArray(child)) return undefined;
  const replaced = replaceAt(child as Record<string, unknown>, rest, value);
  return replaced && { ...map, [key]: replaced };
}

/** One trailing newline, no leading or trailing blanks on any line, no tabs or carriage returns. */
function isSimpleBlock(text: string): boolean {
  // includes() rather than one regex: this runs on every cluster's values text (a regex scan showed in
  // profiles); text ends with "\n", so a blank before a line's end is one before a line terminator
  return (
    text.endsWith("\n") &&
    !text.endsWith("\n\n") &&
    !text.startsWith(" ") &&
    !text.includes(" \n") &&
    !text.includes(" \u2028") &&
    !text.includes(" \u2029") &&
    !text.includes("\t") &&
    !text.includes("\r")
  );
}
