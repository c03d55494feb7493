/**
 * Every key promfleet reads from a cluster's package values after the overlays, with the type it needs.
 * Overlays are the user's code: one can remove or retype any of these (`@overlay/remove`,
 * `@overlay/replace`), so render checks this shape before reading anything and reports each mismatch.
 * Keys not listed here are the user's and the package's business.
 */
type Need =
  | { kind: "map"; keys: Record<string, Need>; required: boolean; hint?: string }
  | { kind: "list"; items: Need }
  | { kind: "string" };

const map = (keys: Record<string, Need> = {}, options: { required?: boolean; hint?: string } = {}): Need => ({
  kind: "map",
  keys,
  required: options.required ?? false,
  hint: options.hint,
});
const list = (items: Need): Need => ({ kind: "list", items });
const STRING: Need = { kind: "string" };

const VALUES_READ_BY_RENDER = map(
  {
    prometheus: map(
      {
        config: map(
          {
            prometheus_yml: map(
              {
                remote_write: list(map({ queue_config: map() })),
                scrape_configs: list(map({ relabel_configs: list(map()) })),
              },
              {
                required: true,
                hint: "overlays edit prometheus_yml as a YAML structure; promfleet encodes it as the package's string at the end (README: Overlays)",
              },
            ),
          },
          { required: true },
        ),
        deployment: map({ containers: map({ args: list(STRING) }) }),
      },
      { required: true },
    ),
  },
  { required: true },
);

export interface ShapeMismatch {
  /** Dotted path with [i] for list items, e.g. `prometheus.config.prometheus_yml.remote_write[0]`. */
  path: string;
  /** "missing", or what is there instead: "a string", "a list", ... */
  found: string;
  /** What promfleet needs there: "a map", "a list", "a string". */
  needed: string;
  hint?: string;
}

/** Where `values` departs from what render reads; empty when every read is safe. */
export function valuesShapeMismatches(values: unknown): ShapeMismatch[] {
  // the check runs on every cluster and almost always passes: `fits` answers without building paths
  return fits(values, VALUES_READ_BY_RENDER, true) ? [] : mismatches(values, VALUES_READ_BY_RENDER, "", true);
}

/** Whether `mismatches` would find nothing. */
function fits(value: unknown, need: Need, required: boolean): boolean {
  if (value === undefined || value === null) return !required;
  if (kindOf(value) !== need.kind) return false;
  if (need.kind === "map") {
    const fields = value as Record<string, unknown>;
    for (const [key, child] of Object.entries(need.keys))
      if (
        !fits(
          Object.hasOwn(fields, key) ? fields[key] : undefined,
          child,
          child.kind === "map" && child.required,
        )
      )
        return false;
    return true;
  }
  return need.kind !== "list" || (value as unknown[]).every((item) => fits(item, need.items, true));
}

function mismatches(value: unknown, need: Need, at: string, required: boolean): ShapeMismatch[] {
  const hint = need.kind === "map" ? need.hint : undefined;
  if (value === undefined || value === null)
    return required ? [{ path: at, found: "missing", needed: article(need.kind), hint }] : [];
  const found = kindOf(value);
  if (found !== need.kind) return [{ path: at, found: article(found), needed: article(need.kind), hint }];
  if (need.kind === "map") {
    const fields = value as Record<string, unknown>;
    return Object.entries(need.keys).flatMap(([key, child]) =>
      mismatches(
        Object.hasOwn(fields, key) ? fields[key] : undefined,
        child,
        at ? `${at}.${key}` : key,
        child.kind === "map" && child.required,
      ),
    );
  }
  if (need.kind === "list")
    return (value as unknown[]).flatMap((item, i) => mismatches(item, need.items, `${at}[${i}]`, true));
  return [];
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "map";
  return typeof value === "boolean" ? "boolean" : typeof value;
}

function article(kind: string): string {
  return `a ${kind}`;
}
