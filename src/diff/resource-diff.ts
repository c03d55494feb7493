/** Kubernetes resources compared field by field, with credentials named by cluster, never by hash. */
import { isDeepStrictEqual } from "node:util";
import { parseYamlDocuments } from "../validate/fast-yaml.js";
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
  const [parsedBefore, parsedAfter] = [parseYamlDocuments(before), parseYamlDocuments(after)];
  const broken = [...parsedBefore.errors, ...parsedAfter.errors];
  if (broken.length > 0) return [`${file} changed, and is not valid YAML: ${broken[0]?.split("\n")[0]}`];
  const [b, a] = [index(parsedBefore.values), index(parsedAfter.values)];
  const keys = [...new Set([...b.keys(), ...a.keys()])].sort();
  return keys.flatMap((key) => {
    const [rb, ra] = [b.get(key), a.get(key)];
    if (!rb) return [`${file}: ${key} added`];
    if (!ra) return [`${file}: ${key} removed`];
    return isDeepStrictEqual(rb, ra) ? [] : resourceChanges(file, key, rb, ra);
  });
}

function index(documents: unknown[]): Map<string, Json> {
  return new Map(
    documents
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
  const [expandedBefore, expandedAfter] = [expandEmbeddedYaml(before), expandEmbeddedYaml(after)];
  const paths = changedPaths(expandedBefore, expandedAfter).filter(
    ([p]) => !namedPaths.some((n) => p.startsWith(n)),
  );
  const users = webConfigUsers(expandedAfter);
  const credentials = paths.flatMap(([p, b, a]) => credentialChange(p, b, a, users) ?? []);
  const rest = paths.filter(([p, b, a]) => !credentialChange(p, b, a, users));
  const shown = rest.slice(0, MAX_PATHS).map(([p, b, a]) => `${where} ${p}: ${arrow(b, a)}`);
  const more = rest.length > MAX_PATHS ? [`${where}: and ${rest.length - MAX_PATHS} more fields`] : [];
  return [...lines, ...credentials.map((c) => `${file}: ${c}`), ...shown, ...more];
}

/**
 * A user of a Prometheus web config (`basic_auth_users.<cluster>` or, for the second rotation slot,
 * `<cluster>.1`: the clusters the aggregator accepts) added, given a new password hash or removed, in
 * those terms; undefined for any other path. `users` are the web config's users after the change: a
 * cluster with both slots is mid-rotation. The hash itself is never shown: it says nothing to a reviewer.
 */
function credentialChange(
  path: string,
  before: unknown,
  after: unknown,
  users: Set<string>,
): string | undefined {
  const match = /(?:^|\.)basic_auth_users\.([^.]+)(\.1)?$/.exec(path);
  if (!match) return undefined;
  const [, cluster, secondSlot] = match;
  const otherSlot = users.has(secondSlot ? `${cluster}` : `${cluster}.1`);
  if (before === undefined)
    return otherSlot
      ? `credential of cluster ${cluster} rotated: a new password is accepted alongside the old one until \`promfleet rotate-credential ${cluster} --finish\``
      : `credential of cluster ${cluster} added (the aggregator accepts its writes)`;
  if (after === undefined)
    return otherSlot
      ? `credential of cluster ${cluster}: the old password is no longer accepted (rotation finished)`
      : `credential of cluster ${cluster} removed (the aggregator no longer accepts it)`;
  return `credential of cluster ${cluster} rotated (new password hash)`;
}

/** The users of the first web config inside a resource (`basic_auth_users`), found at any depth. */
function webConfigUsers(v: unknown): Set<string> {
  if (!isObject(v)) return new Set();
  const users = v.basic_auth_users;
  if (isObject(users)) return new Set(Object.keys(users));
  for (const child of Object.values(v)) {
    const found = webConfigUsers(child);
    if (found.size > 0) return found;
  }
  return new Set();
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
