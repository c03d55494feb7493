/** The validate command: promtool, CRD, package-values and package-bundle checks per cluster. */
import type { Command } from "commander";
import { loadFleet } from "../fleet/load.js";
import type { FleetSpec } from "../fleet/spec.js";
import { ExitCode } from "../util/errors.js";
import { color, createOutput, type Output } from "../util/output.js";
import { crdCacheDir } from "../validate/crd-cache.js";
import { PINNED_CRDS } from "../validate/crd-pins.js";
import { resolveCrds } from "../validate/crd-source.js";
import { packageDefinition, packageMismatch } from "../validate/package-schema.js";
import type { ClusterReport, ValidationReport } from "../validate/report.js";
import { unlistedClusterFolders, validateFleet } from "../validate/validate.js";
import { findPromtool } from "../validate/promtool.js";
import { pinnedVersionWarnings } from "../rollout/pinned-versions.js";
import { action, type GlobalOptions } from "./action.js";
import { collect } from "../util/cli-options.js";
import path from "node:path";
import { changedFiles, changedScope, type ChangedFiles, type ChangedScope } from "../validate/changed.js";

interface ValidateFlags extends GlobalOptions {
  crds: string[];
  fetchCrds?: boolean;
  package?: string;
  packageBundle?: string;
  cluster: string[];
  changedSince?: string;
  json?: boolean;
}

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description(
      "check what clusters/ deploys (the committed files; render --check covers drift from fleet.yaml): " +
        "promtool, CRD schemas, the package's values schema and templates",
    )
    .option(
      "--crds <path>",
      "CustomResourceDefinition files or folders (kapp-controller, Flux); repeatable",
      collect,
      [],
    )
    .option(
      "--fetch-crds",
      "use the pinned kapp-controller and Flux release CRDs, downloading them once from the Go module proxy " +
        "($GOPROXY; module hash and sha256 checked) into $XDG_CACHE_HOME (default ~/.cache)/promfleet/crds/<version>/",
    )
    .option(
      "--package <file>",
      "the Package resource whose values schema the values must satisfy (default: the spec's package.definition)",
    )
    .option(
      "--package-bundle <dir>",
      "the package bundle: render the values through its ytt templates and check the result",
    )
    .option("--cluster <name>", "only this cluster (repeatable)", collect, [])
    .option(
      "--changed-since <ref>",
      "only clusters whose clusters/<name>/ differs from this git ref (working tree, untracked files too); " +
        "every cluster when what the checks read changed (package definition, --crds/--package/--package-bundle " +
        "files in the repository, package.json, package-lock.json, .github/workflows/)",
    )
    .option("--json", "print { ok, clusters: [{ name, checks: [{ check, ok, file, message }] }] } on stdout")
    .action(action<ValidateFlags>((o) => validateCommand(o, createOutput(Boolean(o.json)))));
}

async function validateCommand(o: ValidateFlags, out: Output): Promise<number> {
  // promtool's checks and git's changed paths need no spec: their processes run while the spec, the
  // CRDs and the Package load. Their errors still come in the same order (the spec's first), when awaited
  const promtool = started(findPromtool());
  const files = o.changedSince ? started(changedFiles(path.resolve(o.dir), o.changedSince)) : undefined;
  const spec = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const changed = files ? started(changedScopeOf(spec, o, files)) : undefined;
  const crds = await resolveCrds({ crds: o.crds, fetch: o.fetchCrds });
  if (!crds)
    out.warn(
      "kapp-controller and Flux resources are not checked against their CRDs: pass --crds DIR " +
        `(a folder of CRD YAML files), or --fetch-crds once to cache the pinned release CRDs in ${crdCacheDir(PINNED_CRDS)}`,
    );
  else if (o.crds.length === 0) out.info(`CRDs from ${crds.from}`);
  const definition = packageDefinition(spec, o.package);
  if (!definition) out.warn(noPackageWarning(spec));
  const mismatch = definition && (await packageMismatch(definition, spec.package));
  if (mismatch) out.warn(mismatch);
  for (const warning of await pinnedVersionWarnings(spec, definition)) out.warn(warning);
  for (const folder of await unlistedClusterFolders(spec))
    out.warn(`${folder} is not in ${spec.file}: not validated (promfleet render removes it)`);
  const scope = await changed;
  if (scope) out.info(describeScope(scope, spec));
  const report = await validateFleet(spec, {
    promtool,
    crds: crds?.validator,
    packageFile: definition,
    packageBundle: o.packageBundle,
    clusters: selectedClusters(spec, o.cluster, scope),
  });
  if (scope) {
    const { ref, commit, all, reasons } = scope;
    report.changedSince = {
      ref,
      commit,
      all,
      reasons,
      unchanged: spec.clusters.length - report.clusters.length,
    };
  }
  out.result(report, describe(report));
  return report.ok ? ExitCode.ok : ExitCode.checkFailed;
}

/** A promise awaited later: its rejection is not "unhandled" in the meantime. */
function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function changedScopeOf(
  spec: FleetSpec,
  o: ValidateFlags,
  files: Promise<ChangedFiles>,
): Promise<ChangedScope> {
  const paths = [...o.crds, ...(o.package ? [o.package] : []), ...(o.packageBundle ? [o.packageBundle] : [])];
  return changedScope(spec, o.changedSince as string, { paths: paths.map((p) => path.resolve(p)) }, files);
}

/** --cluster names (unknown ones kept: validateFleet reports them), narrowed to the changed clusters. */
function selectedClusters(spec: FleetSpec, named: string[], scope?: ChangedScope): string[] | undefined {
  if (!scope) return named.length > 0 ? named : undefined;
  const changed = new Set(scope.clusters);
  const known = new Set(spec.clusters.map((c) => c.name));
  const candidates = named.length > 0 ? named : [...known];
  return candidates.filter((n) => changed.has(n) || !known.has(n));
}

function describeScope(scope: ChangedScope, spec: FleetSpec): string {
  const total = spec.clusters.length;
  if (scope.all)
    return `validating all ${total} clusters: ${scope.reasons.join(", ")} changed since ${scope.ref}`;
  const folders = new Set(scope.clusters);
  const changed = spec.clusters.filter((c) => folders.has(c.name)).length;
  return `validating the ${changed} of ${total} clusters whose folder changed since ${scope.ref}`;
}

function noPackageWarning(spec: FleetSpec): string {
  const name = `${spec.package.refName}.${spec.package.version}`;
  return (
    "values are not checked against the package's values schema (a typo in --set would pass): " +
    `set package.definition in ${spec.file} to a committed copy of the Package ${name}, exported from a cluster ` +
    `that has the package repository (kubectl get package ${name} -A -o yaml), or pass --package FILE`
  );
}

function describe(report: ValidationReport): string {
  const all = report.clusters.flatMap((c) => c.checks);
  const failed = all.filter((k) => !k.ok).length;
  const summary = `${report.clusters.length} clusters, ${all.length} checks, ${failed} failed`;
  return [...report.clusters.map(describeCluster), failed ? color.red(summary) : color.green(summary)].join(
    "\n",
  );
}

function describeCluster(c: ClusterReport): string {
  return c.checks
    .map((k) =>
      k.ok
        ? `${color.green("ok")}   ${c.name} ${k.check} ${k.file}`
        : `${color.red("FAIL")} ${c.name} ${k.check} ${k.file}: ${k.message}`,
    )
    .join("\n");
}
