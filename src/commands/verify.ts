/** The verify command: asks the aggregator which clusters are receiving. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadFleet } from "../fleet/load.js";
import type { FleetSpec } from "../fleet/spec.js";
import { parseDuration } from "../util/duration.js";
import { ExitCode, PromfleetError } from "../util/errors.js";
import { createOutput, type Output } from "../util/output.js";
import { verifyFleet, type VerifyResult } from "../verify/index.js";
import { action, type GlobalOptions } from "./action.js";
import { collect } from "../util/cli-options.js";
import { isExternal, writingClusters } from "../receiver/receiver.js";

interface VerifyFlags extends GlobalOptions {
  aggregatorUrl?: string;
  cluster: string[];
  maxStaleness: string;
  wait: string;
  json?: boolean;
  username?: string;
  passwordFile?: string;
  passwordEnv: string;
  bearerTokenEnv?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
  allowInsecureHttpAuth?: boolean;
  ifConfigured?: boolean;
}

export function registerVerifyCommand(program: Command): void {
  const command = program
    .command("verify")
    .description(
      "ask the aggregator which clusters are receiving (fresh samples with their cluster label), stale or missing",
    )
    .option(
      "--aggregator-url <url>",
      "the aggregator's Prometheus URL, or the external receiver's query API base URL (default: the spec's remoteWrite.receiver.queryUrl for an external receiver, else verify.aggregatorUrl)",
    )
    .option(
      "--cluster <name>",
      "check only this cluster (repeatable; default: every cluster in the spec)",
      collect,
      [],
    )
    .option("--max-staleness <duration>", "newest sample older than this is stale", "2m")
    .option("--wait <duration>", "poll until every cluster is receiving or this much time has passed", "0s");
  withAggregatorAuthFlags(command)
    .option("--if-configured", "exit 0 without checking when no aggregator URL is given or in the spec")
    .option("--json", "print the result as JSON on stdout")
    .action(action<VerifyFlags>((o) => verifyCommand(o, createOutput(Boolean(o.json)))));
}

async function verifyCommand(o: VerifyFlags, out: Output): Promise<number> {
  const spec = await loadFleet(o.dir, o.fleet, { requireCredentials: false });
  const receiver = spec.remoteWrite.receiver;
  const url = queryUrlOf(o.aggregatorUrl, spec);
  if (!url) {
    if (o.ifConfigured) {
      out.result({ skipped: true }, "no aggregator URL configured (verify.aggregatorUrl); nothing to verify");
      return ExitCode.ok;
    }
    throw new PromfleetError(
      "no aggregator URL: pass --aggregator-url or set verify.aggregatorUrl in the spec",
      ExitCode.badInput,
    );
  }
  // A kept aggregator does not write to an external store, so only the writing clusters are expected there.
  const clusters =
    o.cluster.length > 0 ? o.cluster : writingClusters(receiver, spec.clusters).map((c) => c.name);
  const result = await verifyFleet({
    aggregatorUrl: url,
    receiver,
    clusters,
    maxStalenessSeconds: parseDuration(o.maxStaleness, "--max-staleness"),
    waitSeconds: parseDuration(o.wait, "--wait"),
    auth: await authOf(o, spec.verify?.username),
    onProgress: (m) => out.info(m),
  });
  out.result(result, table(result));
  return result.ok ? ExitCode.ok : ExitCode.checkFailed;
}

/**
 * Where verify asks (verify, rollout continue): --aggregator-url, else an external receiver's query API,
 * else the spec's verify.aggregatorUrl.
 */
export function queryUrlOf(flag: string | undefined, spec: FleetSpec): string | undefined {
  const receiver = spec.remoteWrite.receiver;
  return flag ?? (isExternal(receiver) ? receiver.queryUrl : spec.verify?.aggregatorUrl);
}

/** The flags that say how to authenticate to the aggregator (verify, rollout continue): AggregatorAuthFlags. */
export function withAggregatorAuthFlags(command: Command): Command {
  return command
    .option("--username <name>", "basic-auth user (default: the spec's verify.username)")
    .option("--password-file <file>", "basic-auth password, read from a file")
    .option(
      "--password-env <var>",
      "basic-auth password, read from this environment variable",
      "PROMFLEET_AGGREGATOR_PASSWORD",
    )
    .option("--bearer-token-env <var>", "bearer token, read from this environment variable")
    .option("--ca-file <file>", "CA bundle that signs the aggregator's certificate")
    .option("--insecure-skip-tls-verify", "do not verify the aggregator's certificate (you asked for it)")
    .option(
      "--allow-insecure-http-auth",
      "send basic auth or a bearer token over plain http:// (refused otherwise: anyone on the path can read it)",
    );
}

export type AggregatorAuthFlags = Pick<
  VerifyFlags,
  | "username"
  | "passwordFile"
  | "passwordEnv"
  | "bearerTokenEnv"
  | "caFile"
  | "insecureSkipTlsVerify"
  | "allowInsecureHttpAuth"
>;

export async function authOf(o: AggregatorAuthFlags, specUser: string | undefined) {
  const username = o.username ?? specUser;
  const password = o.passwordFile
    ? (await readFile(o.passwordFile, "utf8")).trim()
    : process.env[o.passwordEnv];
  const bearerToken = o.bearerTokenEnv ? process.env[o.bearerTokenEnv] : undefined;
  if (o.bearerTokenEnv && !bearerToken)
    throw new PromfleetError(
      `--bearer-token-env ${o.bearerTokenEnv}: the variable is empty`,
      ExitCode.badInput,
    );
  if (username && !password)
    throw new PromfleetError(
      `basic auth as ${username} needs a password: --password-file or $${o.passwordEnv}`,
      ExitCode.badInput,
    );
  return {
    basic: username && password ? { username, password } : undefined,
    bearerToken,
    caFile: o.caFile,
    insecureSkipTlsVerify: Boolean(o.insecureSkipTlsVerify),
    allowInsecureHttpAuth: Boolean(o.allowInsecureHttpAuth),
  };
}

function table(result: VerifyResult): string {
  const rows = result.clusters.map((c) => {
    const age = c.lastSampleAgeSeconds === undefined ? "-" : `${Math.round(c.lastSampleAgeSeconds)}s ago`;
    return `${c.cluster.padEnd(24)} ${c.status.padEnd(10)} ${age}`;
  });
  return [`${"CLUSTER".padEnd(24)} ${"STATUS".padEnd(10)} LAST SAMPLE`, ...rows].join("\n");
}
