import { toYaml, toYamlDocuments } from "./yaml-format.js";

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

  /** The documents `build(name)` returns, serialised: once per shape, then with the name substituted. */
  documents(name: string, build: (name: string) => unknown[]): string {
    if (toYaml(name) !== `${name}\n`) return toYamlDocuments(build(name));
    return this.shape(build(NAME_SENTINEL)).split(NAME_SENTINEL).join(name);
  }

  /**
   * Documents with one block of text (a values file) under `key`: the text is indented into a literal
   * block exactly as the yaml library would, when it is simple enough to be sure of that.
   */
  documentsWithText(build: (text: string) => unknown[], key: string, text: string): string {
    const template = this.shape(build(TEXT_SENTINEL));
    const line = template.split("\n").find((l) => l.trimStart() === `${key}: ${TEXT_SENTINEL}`);
    if (!line || !isSimpleBlock(text)) return toYamlDocuments(build(text));
    const indent = line.slice(0, line.length - line.trimStart().length);
    const block = text
      .slice(0, -1)
      .split("\n")
      .map((l) => (l ? `${indent}  ${l}` : ""))
      .join("\n");
    return template.replace(`${line}\n`, `${indent}${key}: |\n${block}\n`);
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
    const key = JSON.stringify(item);
    let text = this.items.get(key);
    if (text === undefined) this.items.set(key, (text = toYaml([item])));
    return text;
  }

  private shape(docs: unknown[]): string {
    const key = JSON.stringify(docs);
    let text = this.shapes.get(key);
    if (text === undefined) this.shapes.set(key, (text = toYamlDocuments(docs)));
    return text;
  }
}

/** One trailing newline, no leading or trailing blanks on any line, no tabs or carriage returns. */
function isSimpleBlock(text: string): boolean {
  return (
    text.endsWith("\n") &&
    !text.endsWith("\n\n") &&
    !/^ /.test(text) &&
    !/[ \t\r]$/m.test(text) &&
    !/\t|\r/.test(text)
  );
}
