/**
 * Rules GitHub enforces server-side that the published OpenAPI description does not express
 * (e.g. the create-tree entry schema has no `required` list, github/rest-api-description#3833).
 */

type Rule = (body: Record<string, unknown>) => string[];

function treeEntryErrors(entry: unknown, i: number): string[] {
  if (typeof entry !== "object" || entry === null) return [];
  const e = entry as Record<string, unknown>;
  const at = `body/tree/${i}`;
  const errors = ["path", "mode", "type"]
    .filter((k) => e[k] === undefined)
    .map((k) => `${at}: "${k}" wasn't supplied.`);
  if ("sha" in e && "content" in e) errors.push(`${at}: use either tree.sha or tree.content, not both`);
  if (!("sha" in e) && !("content" in e)) errors.push(`${at}: must supply either tree.sha or tree.content`);
  if (e.content !== undefined && e.type !== undefined && e.type !== "blob") {
    errors.push(`${at}: tree.content is only valid for blobs`);
  }
  return errors;
}

const createTree: Rule = (body) => (Array.isArray(body.tree) ? body.tree.flatMap(treeEntryErrors) : []);

const createPull: Rule = (body) =>
  body.title === undefined && body.issue === undefined ? [`body: "title" wasn't supplied.`] : [];

const RULES: Record<string, Rule> = {
  "git/create-tree": createTree,
  "pulls/create": createPull,
};

export function githubConstraints(operationId: string, body: unknown): string[] {
  const rule = RULES[operationId];
  if (!rule || typeof body !== "object" || body === null || Array.isArray(body)) return [];
  return rule(body as Record<string, unknown>);
}
