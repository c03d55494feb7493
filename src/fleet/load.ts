import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { closest } from "fastest-levenshtein";
import { LineCounter, parseDocument, type Document } from "yaml";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";
import { locate, pointerToPath } from "./locate.js";
import { fleetSchema, PATTERN_FIXES } from "./schema.js";
import { WAL_IN_CONTAINER, type ClusterSpec, type Delivery, type FleetSpec, type Role } from "./spec.js";

export const DEFAULT_FLEET_FILE = "fleet.yaml";

const DEFAULTS = {
  packageNamespace: "tkg-system",
  monitoringNamespace: "tanzu-system-monitoring",
  branch: "main",
  syncPeriod: "1m",
  retention: { aggregator: "15d", agent: "5m" } as Record<Role, string>,
  agentWalPath: "/data/agent-wal",
  agentStorage: "1Gi",
  delivery: "kapp-controller" as Delivery,
  fluxNamespace: "flux-system",
  fluxInterval: "10m",
  /** Where the Tanzu Contour package runs Envoy. */
  ingressControllerNamespace: "tanzu-system-ingress",
};

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(fleetSchema);

export interface LoadOptions {
  /** Under remoteWrite.auth basic every cluster needs a credential; commands that add one turn this off. */
  requireCredentials?: boolean;
}

/** Reads, validates and completes a fleet spec. Throws PromfleetError listing every problem. */
export async function loadFleet(
  root: string,
  file = DEFAULT_FLEET_FILE,
  options: LoadOptions = {},
): Promise<FleetSpec> {
  const absolute = path.resolve(root, file);
  const rel = path.relative(root, absolute) || file;
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch {
    throw new PromfleetError(`cannot read fleet spec ${absolute}`, ExitCode.badInput, [
      { file: rel, message: "file not found", fix: "run 'promfleet init' or pass --fleet <file>" },
    ]);
  }
  return parseFleet(text, root, rel, options);
}

export async function parseFleet(
  text: string,
  root: string,
  file: string,
  options: LoadOptions = {},
): Promise<FleetSpec> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      file,
      line: e.linePos?.[0]?.line,
      column: e.linePos?.[0]?.col,
      message: `not valid YAML: ${e.message.split("\n")[0]}`,
      fix: "correct the YAML syntax at this position",
    }));
    throw invalid(file, problems);
  }
  const raw: unknown = doc.toJS();
  const problems = schemaProblems(raw, doc, lines, file);
  if (problems.length === 0)
    problems.push(...(await semanticProblems(raw as RawFleet, doc, lines, file, root)));
  if (problems.length === 0 && options.requireCredentials !== false)
    problems.push(...credentialProblems(raw as RawFleet, doc, lines, file));
  if (problems.length > 0) throw invalid(file, problems);
  return complete(raw as RawFleet, root, file);
}

function invalid(file: string, problems: Problem[]): PromfleetError {
  const noun = problems.length === 1 ? "problem" : "problems";
  return new PromfleetError(
    `${file}: ${problems.length} ${noun}; nothing was written`,
    ExitCode.badInput,
    problems,
  );
}

function schemaProblems(raw: unknown, doc: Document, lines: LineCounter, file: string): Problem[] {
  if (validateSchema(raw)) return [];
  return (validateSchema.errors ?? []).filter(isReportable).map((e) => schemaProblem(e, doc, lines, file));
}

/** `if`/`anyOf` wrappers repeat what their branches say. */
function isReportable(e: ErrorObject): boolean {
  return e.keyword !== "if" && e.keyword !== "anyOf";
}

function schemaProblem(e: ErrorObject, doc: Document, lines: LineCounter, file: string): Problem {
  const path = pointerToPath(e.instancePath);
  const at = (key?: string) => ({ file, ...locate(doc, lines, e.instancePath, key) });
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(propertiesAt(e.schemaPath));
      const guess = allowed.length > 0 ? closest(key, allowed) : undefined;
      return {
        ...at(key),
        path: path ? `${path}.${key}` : key,
        message: `unknown key "${key}"`,
        fix: guess ? `did you mean "${guess}"? Allowed here: ${allowed.join(", ")}` : "remove it",
      };
    }
    case "required":
      return {
        ...at(),
        path,
        message: `missing required key "${String(params.missingProperty)}"`,
        fix: `add "${String(params.missingProperty)}"`,
      };
    case "pattern":
      return {
        ...at(),
        path,
        message: `${JSON.stringify(valueAt(doc, e.instancePath))} is not allowed here`,
        fix: PATTERN_FIXES[String(params.pattern)] ?? `match the pattern ${String(params.pattern)}`,
      };
    case "enum":
      return {
        ...at(),
        path,
        message: `must be one of ${(params.allowedValues as unknown[]).join(", ")}`,
        fix: "use one of the listed values",
      };
    case "const":
      return {
        ...at(),
        path,
        message: `must be ${JSON.stringify(params.allowedValue)}`,
        fix: `set it to ${JSON.stringify(params.allowedValue)}`,
      };
    case "propertyNames":
      return {
        ...at(),
        path,
        message: `key ${JSON.stringify(params.propertyName)} is not a dotted path of names`,
        fix: "write keys like prometheus.pvc.storage",
      };
    default:
      return {
        ...at(),
        path,
        message: e.message ?? "is not valid",
        fix: "see the fleet spec reference in the README",
      };
  }
}

function propertiesAt(schemaPath: string): Record<string, unknown> {
  const segments = schemaPath.replace(/^#\//, "").split("/").slice(0, -1);
  let node: unknown = fleetSchema;
  for (const segment of segments) node = (node as Record<string, unknown>)[segment];
  return ((node as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
}

function valueAt(doc: Document, pointer: string): unknown {
  const segments = pointer.split("/").slice(1);
  const node = doc.getIn(segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s)));
  return (node as { toJSON?: () => unknown })?.toJSON?.() ?? node;
}

interface RawCluster {
  name: string;
  role: Role;
  retention?: string;
  storage?: string;
  ingress?: { host: string; controllerNamespace?: string };
  ageRecipient?: string;
  walPath?: string;
  delivery?: Delivery;
  credential?: { passwordHash: string; generation?: number; previousPasswordHash?: string };
  overlays?: string[];
  values?: Record<string, unknown>;
}

interface RawFleet {
  package: { refName: string; version: string; namespace?: string; monitoringNamespace?: string };
  git: { url: string; branch?: string; secretName?: string };
  app?: { syncPeriod?: string };
  remoteWrite?: {
    url?: string;
    tls?: { insecureSkipVerify?: boolean; caSecret?: string };
    auth?: "basic" | "none";
  };
  secrets?: { provider?: "external" | "sops"; sops?: { ageRecipients: string[] } };
  kubernetesApi?: { tls?: { insecureSkipVerify?: boolean } };
  guardClusterLabel?: boolean;
  exposeFullApi?: boolean;
  rbac?: "cluster-admin" | "least-privilege";
  verify?: { aggregatorUrl: string; username?: string };
  delivery?: Delivery;
  flux?: { namespace?: string; interval?: string };
  overlays?: string[];
  clusters: RawCluster[];
}

async function semanticProblems(
  raw: RawFleet,
  doc: Document,
  lines: LineCounter,
  file: string,
  root: string,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const at = (pointer: string) => ({ file, path: pointerToPath(pointer), ...locate(doc, lines, pointer) });
  const firstIndex = new Map<string, number>();
  raw.clusters.forEach((c, i) => {
    const earlier = firstIndex.get(c.name);
    if (earlier === undefined) firstIndex.set(c.name, i);
    else
      problems.push({
        ...at(`/clusters/${i}/name`),
        message: `cluster name "${c.name}" is already used by clusters[${earlier}]`,
        fix: "give every cluster a unique name (it becomes the folder clusters/<name>/ and the cluster label)",
      });
  });
  const aggregators = raw.clusters.flatMap((c, i) => (c.role === "aggregator" ? [i] : []));
  if (aggregators.length !== 1)
    problems.push({
      ...at(aggregators.length === 0 ? "/clusters" : `/clusters/${aggregators[1]}/role`),
      message: `a fleet needs exactly one aggregator, found ${aggregators.length}`,
      fix:
        aggregators.length === 0
          ? "set role: aggregator on the cluster that receives the remote writes"
          : "keep one aggregator and make the others role: agent",
    });
  raw.clusters.forEach((c, i) => problems.push(...roleFieldProblems(c, i, at)));
  const aggregator = aggregators.length === 1 ? raw.clusters[aggregators[0] as number] : undefined;
  const hasAgents = raw.clusters.some((c) => c.role === "agent");
  if (hasAgents && aggregator && !raw.remoteWrite?.url && !aggregator.ingress?.host)
    problems.push({
      ...at("/remoteWrite"),
      message: "agents have no aggregator URL to remote-write to",
      fix: `set remoteWrite.url, or ingress.host on the aggregator "${aggregator.name}"`,
    });
  if (raw.remoteWrite?.url?.startsWith("http://"))
    problems.push({
      ...at("/remoteWrite/url"),
      message: "remote writes over plain http send every metric unencrypted",
      fix: "use an https:// URL",
    });
  if (raw.app?.syncPeriod && goDurationSeconds(raw.app.syncPeriod) < 30)
    problems.push({
      ...at("/app/syncPeriod"),
      message: `kapp-controller raises a syncPeriod under 30s to 30s`,
      fix: "use 30s or more",
    });
  if (raw.secrets?.provider === "sops" && !raw.secrets.sops)
    problems.push({
      ...at("/secrets"),
      message: "secrets.provider is sops but no age recipients are named",
      fix: "add secrets.sops.ageRecipients with the administrators' age public keys (each cluster's own key goes in clusters[].ageRecipient)",
    });
  if (raw.remoteWrite?.tls?.insecureSkipVerify && raw.remoteWrite.tls.caSecret)
    problems.push({
      ...at("/remoteWrite/tls"),
      message: "caSecret has no effect while insecureSkipVerify is true",
      fix: "remove insecureSkipVerify to verify the aggregator with the CA",
    });
  problems.push(...(await overlayProblems(raw, at, root)));
  return problems;
}

/** With basic auth, a cluster without a credential could not write (agent) or scrape itself (aggregator). */
function credentialProblems(raw: RawFleet, doc: Document, lines: LineCounter, file: string): Problem[] {
  if ((raw.remoteWrite?.auth ?? "basic") !== "basic") return [];
  return raw.clusters.flatMap((c, i) =>
    c.credential
      ? []
      : [
          {
            file,
            path: `clusters[${i}]`,
            ...locate(doc, lines, `/clusters/${i}`),
            message: `cluster ${c.name} has no credential, and remoteWrite.auth is basic`,
            fix: `run: promfleet rotate-credential ${c.name}`,
          },
        ],
  );
}

function goDurationSeconds(d: string): number {
  const unit = { h: 3600, m: 60, s: 1 } as Record<string, number>;
  return [...d.matchAll(/(\d+)([hms])/g)].reduce(
    (sum, [, n, u]) => sum + Number(n) * (unit[u as string] ?? 0),
    0,
  );
}

function roleFieldProblems(c: RawCluster, i: number, at: (p: string) => Omit<Problem, "message">): Problem[] {
  const problems: Problem[] = [];
  if (c.role === "agent" && c.ingress)
    problems.push({
      ...at(`/clusters/${i}/ingress`),
      message: "only the aggregator has an ingress",
      fix: "remove ingress from this agent",
    });
  if (c.role === "aggregator" && c.walPath)
    problems.push({
      ...at(`/clusters/${i}/walPath`),
      message: "walPath is for agents; the aggregator keeps a TSDB in /data",
      fix: "remove walPath from the aggregator",
    });
  return problems;
}

async function overlayProblems(
  raw: RawFleet,
  at: (p: string) => Omit<Problem, "message">,
  root: string,
): Promise<Problem[]> {
  const refs = [
    ...(raw.overlays ?? []).map((p, j) => ({ p, pointer: `/overlays/${j}` })),
    ...raw.clusters.flatMap((c, i) =>
      (c.overlays ?? []).map((p, j) => ({ p, pointer: `/clusters/${i}/overlays/${j}` })),
    ),
  ];
  const problems: Problem[] = [];
  const realRoot = await realpath(root).catch(() => root);
  for (const { p, pointer } of refs) {
    const problem = await overlayFileProblem(realRoot, path.join(root, p));
    if (problem)
      problems.push({ ...at(pointer), message: `overlay ${p} ${problem.message}`, fix: problem.fix });
  }
  return problems;
}

/** The path pattern keeps `..` out; this also keeps symbolic links from pointing outside the repository. */
async function overlayFileProblem(
  realRoot: string,
  file: string,
): Promise<{ message: string; fix: string } | undefined> {
  const isFile = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile)
    return {
      message: "does not exist",
      fix: "create the file or correct the path (relative to the fleet root)",
    };
  const real = await realpath(file);
  if (!real.startsWith(realRoot + path.sep))
    return {
      message: `resolves outside the repository (${real})`,
      fix: "copy the overlay into the repository",
    };
  return undefined;
}

function complete(raw: RawFleet, root: string, file: string): FleetSpec {
  const aggregator = raw.clusters.find((c) => c.role === "aggregator") as RawCluster;
  const remoteWriteUrl =
    raw.remoteWrite?.url ?? (aggregator.ingress ? `https://${aggregator.ingress.host}/api/v1/write` : "");
  return {
    root,
    file,
    package: {
      refName: raw.package.refName,
      version: raw.package.version,
      namespace: raw.package.namespace ?? DEFAULTS.packageNamespace,
      monitoringNamespace: raw.package.monitoringNamespace ?? DEFAULTS.monitoringNamespace,
    },
    git: { url: raw.git.url, branch: raw.git.branch ?? DEFAULTS.branch, secretName: raw.git.secretName },
    app: { syncPeriod: raw.app?.syncPeriod ?? DEFAULTS.syncPeriod },
    flux: {
      namespace: raw.flux?.namespace ?? DEFAULTS.fluxNamespace,
      interval: raw.flux?.interval ?? DEFAULTS.fluxInterval,
    },
    remoteWrite: {
      url: remoteWriteUrl,
      insecureSkipVerify: raw.remoteWrite?.tls?.insecureSkipVerify ?? false,
      caSecret: raw.remoteWrite?.tls?.caSecret,
      auth: raw.remoteWrite?.auth ?? "basic",
    },
    secrets: {
      provider: raw.secrets?.provider ?? "external",
      ageRecipients: raw.secrets?.sops?.ageRecipients ?? [],
    },
    kubernetesApi: { insecureSkipVerify: raw.kubernetesApi?.tls?.insecureSkipVerify ?? false },
    guardClusterLabel: raw.guardClusterLabel ?? true,
    exposeFullApi: raw.exposeFullApi ?? false,
    rbac: raw.rbac ?? "cluster-admin",
    verify: raw.verify,
    overlays: raw.overlays ?? [],
    clusters: raw.clusters.map((c) => completeCluster(c, raw.delivery ?? DEFAULTS.delivery)),
  };
}

function completeCluster(c: RawCluster, fleetDelivery: Delivery): ClusterSpec {
  const agent = c.role === "agent";
  return {
    name: c.name,
    role: c.role,
    delivery: c.delivery ?? fleetDelivery,
    retention: c.retention ?? DEFAULTS.retention[c.role],
    storage: c.storage ?? (agent ? DEFAULTS.agentStorage : undefined),
    ingressHost: c.ingress?.host,
    ingressControllerNamespace: c.ingress?.controllerNamespace ?? DEFAULTS.ingressControllerNamespace,
    ageRecipient: c.ageRecipient,
    walPath: agent ? (c.walPath ?? DEFAULTS.agentWalPath) : undefined,
    passwordHash: c.credential?.passwordHash,
    credentialGeneration: c.credential?.generation ?? 0,
    previousPasswordHash: c.credential?.previousPasswordHash,
    overlays: c.overlays ?? [],
    values: c.values ?? {},
  };
}

export { WAL_IN_CONTAINER };
