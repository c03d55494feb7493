import type { Command } from "commander";
import { loadFleet } from "../fleet/load.js";
import { ExitCode } from "../util/errors.js";
import { color, createOutput } from "../util/output.js";
import { validateFleet, type ClusterReport } from "../validate/validate.js";
import { action, type GlobalOptions } from "./action.js";

interface ValidateFlags extends GlobalOptions {
  crds: string[];
  package?: string;
  packageBundle?: string;
  cluster: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description(
      "check every cluster folder: promtool, CRD schemas, the package's values schema and templates",
    )
    .option(
      "--crds <path>",
      "CustomResourceDefinition files or folders (kapp-controller, Flux); repeatable",
      collect,
      [],
    )
    .option("--package <file>", "the Package resource whose values schema the values must satisfy")
    .option(
      "--package-bundle <dir>",
      "the package bundle: render the values through its ytt templates and check the result",
    )
    .option("--cluster <name>", "only this cluster (repeatable)", collect, [])
    .option("--json", "print the result as JSON on stdout")
    .action(
      action<ValidateFlags>(async (o) => {
        const out = createOutput(Boolean(o.json));
        const spec = await loadFleet(o.dir, o.fleet);
        if (o.crds.length === 0)
          out.warn(
            "no --crds given: kapp-controller and Flux resources are not checked against their schemas",
          );
        const report = await validateFleet(spec, {
          crds: o.crds,
          packageFile: o.package,
          packageBundle: o.packageBundle,
          clusters: o.cluster,
        });
        out.result(report, report.clusters.map(describe).join("\n"));
        return report.ok ? ExitCode.ok : ExitCode.checkFailed;
      }),
    );
}

function describe(c: ClusterReport): string {
  return c.checks
    .map((k) =>
      k.ok
        ? `${color.green("ok")}   ${c.name} ${k.check} ${k.file}`
        : `${color.red("FAIL")} ${c.name} ${k.check} ${k.file}: ${k.message}`,
    )
    .join("\n");
}
