/** Pull-request titles, bodies and the review comment, from handlebars templates (templates/pr/). */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type Handlebars from "handlebars";
import { escapeHtml, escapeMarkdown, inlineCode } from "../util/markdown.js";
import { packageRoot } from "../util/tool.js";

let instance: Promise<typeof Handlebars> | undefined;

/** Handlebars with promfleet's helpers, loaded on first use (render never needs it). */
function handlebars(): Promise<typeof Handlebars> {
  return (instance ??= import("handlebars").then(({ default: loaded }) => {
    const hb = loaded.create();
    const helper = (name: string, escape: (text: string) => string) =>
      hb.registerHelper(name, (text: unknown) => new loaded.SafeString(escape(String(text ?? ""))));
    /** Markdown-escaped text: no emphasis, links, headings or HTML, and no @-mention that notifies anyone. */
    helper("md", escapeMarkdown);
    /** Inline code that the text cannot break out of. */
    helper("code", inlineCode);
    /** Text inside raw HTML (`<summary>`), where markdown escapes do not apply. */
    helper("html", escapeHtml);
    return hb;
  }));
}

/** promfleet's own copy of templates/pr/<name>.hbs. */
export function builtInTemplate(name: string): Promise<string> {
  return readFile(path.join(packageRoot, "templates", "pr", `${name}.hbs`), "utf8");
}

/** Renders a template's source with promfleet's helpers. */
export async function renderTemplateSource(source: string, context: object): Promise<string> {
  return (await handlebars()).compile(source, { strict: false })(context).trimEnd() + "\n";
}

/** Renders templates/pr/<name>.hbs: the fleet repository's own copy if it has one, else promfleet's. */
export async function renderTemplate(fleetRoot: string, name: string, context: object): Promise<string> {
  const own = path.join(fleetRoot, "templates", "pr", `${name}.hbs`);
  const source = await readFile(own, "utf8").catch(() => builtInTemplate(name));
  return renderTemplateSource(source, context);
}
