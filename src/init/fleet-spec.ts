/**
 * The fleet.yaml init writes, built with the YAML library's Document API: every flag value is a scalar
 * node, so no value (a newline, a `#`, a quote) can add a key or cut another short.
 */
import { Document, isMap, isScalar, isSeq, type YAMLMap } from "yaml";
import type { InitSettings } from "./settings.js";

const HEADER = [
  " promfleet fleet spec: the one source of truth for this fleet. Edit it (or use promfleet",
  " onboard-cluster / offboard-cluster), then run `promfleet render`; clusters/ is generated from it.",
].join("\n");

const EXTERNAL_SECRETS = [
  " New credentials never enter Git: promfleet writes them to .promfleet/credentials/ (git-ignored) and",
  " prints the kubectl command that creates the cluster's Secret. Use provider: sops to commit them encrypted.",
].join("\n");

const SOPS_SECRETS =
  " New credentials are committed SOPS-encrypted for these age keys; clusters decrypt with the Secret sops-age.";

/** Comments above keys, by path; a path of one key also gets a blank line before it. */
const COMMENTS: Array<[string[], string]> = [
  [["package", "refName"], " The Tanzu package that installs Prometheus on every cluster, and its version."],
  [["package", "namespace"], " Namespace of the PackageInstall, its values Secret and the bootstrap App."],
  [["git", "url"], " The repository each cluster pulls its folder (clusters/<name>/) from."],
  [
    ["delivery"],
    " What pulls a cluster's folder onto it: kapp-controller (an App) or flux (a Kustomization).",
  ],
  [
    ["remoteWrite", "url"],
    [
      " Where agents send their samples. TLS is verified (set tls.caSecret if a private CA signs the",
      " aggregator's certificate); every cluster authenticates with its own credential (auth: basic).",
    ].join("\n"),
  ],
];

export function fleetSpecText(s: InitSettings, passwordHash: string): string {
  const doc = new Document({
    apiVersion: "promfleet.dev/v1alpha1",
    kind: "Fleet",
    package: { refName: "prometheus.tanzu.vmware.com", version: s.packageVersion, namespace: "tkg-system" },
    git: { url: s.gitUrl, branch: "main" },
    delivery: s.delivery,
    remoteWrite: { url: s.remoteWriteUrl },
    secrets:
      s.ageRecipients.length > 0
        ? { provider: "sops", sops: { ageRecipients: s.ageRecipients } }
        : { provider: "external" },
    clusters: [
      {
        name: s.aggregator,
        role: "aggregator",
        ingress: { host: s.ingressHost },
        retention: "15d",
        credential: { passwordHash },
      },
    ],
  });
  doc.commentBefore = HEADER;
  for (const [path, comment] of COMMENTS) commentKey(doc, path, comment);
  commentKey(doc, ["secrets", "provider"], s.ageRecipients.length > 0 ? SOPS_SECRETS : EXTERNAL_SECRETS);
  const clusters = doc.get("clusters", true);
  if (!isSeq(clusters)) throw new Error("clusters is not a sequence");
  clusters.commentBefore =
    " The aggregator: receives every agent's remote writes, and labels its own scrapes with its name.";
  clusters.comment = " Agents are added with: promfleet onboard-cluster <name> --pr";
  for (const key of ["package", "git", "delivery", "remoteWrite", "secrets", "clusters"])
    keyNode(doc.contents as YAMLMap, key).spaceBefore = true;
  return doc.toString({ lineWidth: 0 });
}

function commentKey(doc: Document, path: string[], comment: string): void {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (!isMap(parent)) throw new Error(`${path.join(".")} has no parent map`);
  keyNode(parent, path[path.length - 1] as string).commentBefore = comment;
}

function keyNode(map: YAMLMap, key: string) {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (!pair || !isScalar(pair.key)) throw new Error(`no key ${key}`);
  return pair.key;
}
