import { readFile } from "node:fs/promises";
import path from "node:path";
import Handlebars from "handlebars";
import { escapeMarkdown, inlineCode } from "../util/markdown.js";
import { packageRoot } from "../util/tool.js";

const hb = Handlebars.create();
/** Markdown-escaped text: no emphasis, links, headings or HTML, and no @-mention that notifies anyone. */
hb.registerHelper("md", (text: unknown) => new Handlebars.SafeString(escapeMarkdown(String(text ?? ""))));
/** Inline code that the text cannot break out of. */
hb.registerHelper("code", (text: unknown) => new Handlebars.SafeString(inlineCode(String(text ?? ""))));

/** Renders templates/pr/<name>.hbs: the fleet repository's own copy if it has one, else promfleet's. */
export async function renderTemplate(fleetRoot: string, name: string, context: object): Promise<string> {
  const own = path.join(fleetRoot, "templates", "pr", `${name}.hbs`);
  const builtIn = path.join(packageRoot, "templates", "pr", `${name}.hbs`);
  const source = await readFile(own, "utf8").catch(() => readFile(builtIn, "utf8"));
  return hb.compile(source, { strict: false })(context).trimEnd() + "\n";
}
