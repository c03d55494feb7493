import { readFile } from "node:fs/promises";
import path from "node:path";
import type Handlebars from "handlebars";
import { escapeMarkdown, inlineCode } from "../util/markdown.js";
import { packageRoot } from "../util/tool.js";

let instance: Promise<typeof Handlebars> | undefined;

/** Handlebars with promfleet's helpers, loaded on first use (render never needs it). */
function handlebars(): Promise<typeof Handlebars> {
  return (instance ??= import("handlebars").then(({ default: loaded }) => {
    const hb = loaded.create();
    /** Markdown-escaped text: no emphasis, links, headings or HTML, and no @-mention that notifies anyone. */
    hb.registerHelper("md", (text: unknown) => new loaded.SafeString(escapeMarkdown(String(text ?? ""))));
    /** Inline code that the text cannot break out of. */
    hb.registerHelper("code", (text: unknown) => new loaded.SafeString(inlineCode(String(text ?? ""))));
    return hb;
  }));
}

/** Renders templates/pr/<name>.hbs: the fleet repository's own copy if it has one, else promfleet's. */
export async function renderTemplate(fleetRoot: string, name: string, context: object): Promise<string> {
  const own = path.join(fleetRoot, "templates", "pr", `${name}.hbs`);
  const builtIn = path.join(packageRoot, "templates", "pr", `${name}.hbs`);
  const source = await readFile(own, "utf8").catch(() => readFile(builtIn, "utf8"));
  return (await handlebars()).compile(source, { strict: false })(context).trimEnd() + "\n";
}
