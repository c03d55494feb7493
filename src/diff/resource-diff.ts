import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { arrow, changedPaths, expandEmbeddedYaml, get, isObject, type Json } from "./json.js";

/** Generic changed paths shown per resource before "and N more". */
const MAX_PATHS = 5;

/** A field a reviewer knows by name: the PackageInstall's version, where an App or Flux pulls from. */
interface Named {
  kind: string;
  label: string;
  paths: string[][];
}

const NAMED: Named[] = [
  { kind: "PackageInstall", label: "package", paths: [["spec", "packageRef", "refName"]] },
  {
    kind: "PackageInstall",
    label: "version",
    paths: [["spec", "packageRef", "versionSelection", "constraints"]],
  },
  { kind: "App", label: "source", paths: [["spec", "fetch"]] },
  {
    kind: "GitRepository",
    label: "source",
    paths: [
      ["spec", "url"],
      ["spec", "ref"],
    ],
  },
  { kind: "Kustomization", label: "path", paths: [["spec", "path"]] },
];

/** Resources added, removed or changed between two versions of a manifest file. */
export function diffResources(file: string, before: string, after: string): string[] {
  if (file.endsWith(".sops.yaml")) return [`${file}: encrypted content changed`];
  const broken = [before, after].flatMap((t) => parseAllDocuments(t).flatMap((d) => d.errors));
  if (broken.length > 0)
    return [`${file} changed, and is not valid YAML: ${broken[0]?.message.split("\n")[0]}`];
  const [b, a] = [index(before), index(after)];
  const keys = [...new Set([...b.keys(), ...a.keys()])].sort();
  return keys.flatMap((key) => {
    const [rb, ra] = [b.get(key), a.get(key)];
    if (!rb) return [`${file}: ${key} added`];
    if (!ra) return [`${file}: ${key} removed`];
    return isDeepStrictEqual(rb, ra) ? [] : resourceChanges(file, key, rb, ra);
  });
}

function index(text: string): Map<string, Json> {
  return new Map(
    parseAllDocuments(text)
      .map((d) => d.toJS() as unknown)
      .filter((r): r is Json => isObject(r) && Boolean(r.kind))
      .map((r) => [`${String(r.kind)} ${String(get(r, ["metadata", "name"]))}`, r]),
  );
}

function resourceChanges(file: string, key: string, before: Json, after: Json): string[] {
  const where = `${file}: ${key}`;
  const named = NAMED.filter((n) => n.kind === before.kind);
  const namedPaths = named.flatMap((n) => n.paths.map((p) => p.join(".")));
  const lines = named
    .filter((n) => n.paths.some((p) => !isDeepStrictEqual(get(before, p), get(after, p))))
    .map((n) => `${where} ${n.label}: ${describe(before, n)} → ${describe(after, n)}`);
  const paths = changedPaths(expandEmbeddedYaml(before), expandEmbeddedYaml(after)).filter(
    ([p]) => !namedPaths.some((n) => p.startsWith(n)),
  );
  const credentials = paths.flatMap(([p, b, a]) => credentialChange(p, b, a) ?? []);
  const rest = paths.filter(([p, b, a]) => !credentialChange(p, b, a));
  const shown = rest.slice(0, MAX_PATHS).map(([p, b, a]) => `${where} ${p}: ${arrow(b, a)}`);
  const more = rest.length > MAX_PATHS ? [`${where}: and ${rest.length - MAX_PATHS} more fields`] : [];
  return [...lines, ...credentials.map((c) => `${file}: ${c}`), ...shown, ...more];
}

/**
 * A user of a Prometheus web config (`basic_auth_users.<cluster>`: the clusters the aggregator accepts)
 * added, given a new password hash or removed, in those terms; undefined for any other path. The hash
 * itself is never shown: it says nothing to a reviewer.
 */
function credentialChange(path: string, before: unknown, after: unknown): string | undefined {
  const user = /(?:^|\.)basic_auth_users\.([^.]+)$/.exec(path)?.[1];
  if (!user) return undefined;
  if (before === undefined) return `credential of cluster ${user} added (the aggregator accepts its writes)`;
  if (after === undefined)
    return `credential of cluster ${user} removed (the aggregator no longer accepts it)`;
  return `credential of cluster ${user} rotated (new password hash)`;
}

/** A named field's value in full: App fetch entries as `url@ref subPath`, others as they are. */
function describe(resource: Json, n: Named): string {
  const values = n.paths.map((p) => get(resource, p));
  if (n.kind === "App" && Array.isArray(values[0]))
    return values[0].map((f: unknown) => fetchSource(f)).join(", ");
  const text = values
    .filter((v) => v !== undefined)
    .map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  return text.length > 0 ? text.join(" ") : "(none)";
}

function fetchSource(fetch: unknown): string {
  const git = get(fetch, ["git"]);
  if (!isObject(git)) return JSON.stringify(fetch);
  return `${String(git.url)}@${String(git.ref ?? "HEAD")}${git.subPath ? ` ${String(git.subPath)}` : ""}`;
}
