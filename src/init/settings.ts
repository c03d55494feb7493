/**
 * init's flags, checked before anything is written: each value that lands in a file is either checked
 * here (what the fleet spec cannot see: URLs' credentials, CODEOWNERS owners) or by the fleet spec's own
 * rules, whose problems are reported against the flag that supplied the value.
 */
import { execa } from "execa";
import { DEFAULT_FLEET_FILE } from "../fleet/load.js";
import { ExitCode, PromfleetError, type Problem } from "../util/errors.js";

export interface InitFlags {
  aggregator: string;
  remoteWriteUrl: string;
  packageVersion: string;
  delivery: string;
  gitUrl?: string;
  ageRecipient: string[];
  codeowner: string[];
  actionsRepo: string;
  json?: boolean;
}

export interface InitSettings {
  aggregator: string;
  remoteWriteUrl: string;
  /** The aggregator's ingress host: the remote-write URL's host. */
  ingressHost: string;
  packageVersion: string;
  delivery: string;
  gitUrl: string;
  ageRecipients: string[];
  codeowners: string[];
  /** The GitHub repository (owner/name) whose actions the workflows use: promfleet's or a fork. */
  actionsRepo: string;
}

const WHERE = "promfleet init";
/** Whitespace or control characters: never part of a URL, a name or a version (a newline would be a new line). */
const UNPRINTABLE = /[\s\p{Cc}]/u;
/** A GitHub user or team (@user, @org/team) or an e-mail address, as CODEOWNERS takes them. */
/** A GitHub repository, owner/name, as `uses:` takes it. */
const GITHUB_REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\/[A-Za-z0-9._-]+$/;
const CODEOWNER =
  /^(@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$/;

/** The flags as settings, or every problem with them at once (exit 2). */
export async function initSettings(
  o: InitFlags & { fleet: string },
  dir: string,
): Promise<{ settings: InitSettings; problems: Problem[] }> {
  const problems: Problem[] = [];
  const flag = (path: string, value: string, message: string, fix: string) =>
    problems.push({ file: WHERE, path, message: `${JSON.stringify(value)} ${message}`, fix });
  if (o.fleet !== DEFAULT_FLEET_FILE)
    flag(
      "-f",
      o.fleet,
      "is not fleet.yaml",
      "drop -f: init writes fleet.yaml, where every command and workflow looks",
    );
  const remoteWrite = checkRemoteWriteUrl(o.remoteWriteUrl);
  if (remoteWrite.problem) problems.push(remoteWrite.problem);
  const git = await gitUrlOf(o.gitUrl, dir);
  problems.push(...git.problems);
  for (const owner of o.codeowner)
    if (!CODEOWNER.test(owner))
      flag("--codeowner", owner, "is not a CODEOWNERS owner", "use @user, @org/team or an e-mail address");
  if (!GITHUB_REPOSITORY.test(o.actionsRepo))
    flag(
      "--actions-repo",
      o.actionsRepo,
      "is not a GitHub repository",
      "use owner/name, e.g. promfleet/promfleet",
    );
  return {
    settings: {
      aggregator: o.aggregator,
      remoteWriteUrl: o.remoteWriteUrl,
      ingressHost: remoteWrite.host,
      packageVersion: o.packageVersion,
      delivery: o.delivery,
      gitUrl: git.url,
      ageRecipients: o.ageRecipient,
      codeowners: o.codeowner,
      actionsRepo: o.actionsRepo,
    },
    problems,
  };
}

function checkRemoteWriteUrl(value: string): { host: string; problem?: Problem } {
  const problem = (message: string, fix: string): Problem => ({
    file: WHERE,
    path: "--remote-write-url",
    message,
    fix,
  });
  const fix = "give the aggregator's remote-write endpoint, e.g. https://prometheus.example.com/api/v1/write";
  const url = !UNPRINTABLE.test(value) && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || url.protocol !== "https:" || !url.hostname)
    return { host: "", problem: problem(`${JSON.stringify(value)} is not an https:// URL`, fix) };
  const leak = urlCredentialProblems("--remote-write-url", value)[0];
  return { host: url.hostname, problem: leak };
}

/** A URL with a user and password in it would put the password in fleet.yaml, in Git. */
function urlCredentialProblems(path: string, value: string): Problem[] {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url?.password) return [];
  return [
    {
      file: WHERE,
      path,
      message: "contains credentials (user:password@), which would be committed to Git",
      fix: "give the URL without them; clusters read credentials from a Secret (git.secretName)",
    },
  ];
}

/** --git-url, else the origin remote's URL. */
async function gitUrlOf(
  flag: string | undefined,
  dir: string,
): Promise<{ url: string; problems: Problem[] }> {
  if (flag !== undefined) return { url: flag, problems: urlCredentialProblems("--git-url", flag) };
  const url = await originUrl(dir);
  if (url) return { url, problems: [] };
  const problem = {
    file: WHERE,
    path: "--git-url",
    message: `not given, and ${dir} has no git remote origin to take the repository URL from`,
    fix: "pass --git-url with the URL the clusters pull from, e.g. https://github.com/acme/fleet.git",
  };
  return { url, problems: [problem] };
}

/** The `origin` remote ("" if none), without the credentials a CI checkout or a token URL may carry. */
async function originUrl(dir: string): Promise<string> {
  const r = await execa("git", ["-C", dir, "remote", "get-url", "origin"], { reject: false });
  const url = r.exitCode === 0 ? r.stdout.trim() : "";
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return url;
  const clean = new URL(url);
  clean.username = "";
  clean.password = "";
  return clean.toString();
}

/** Which flag supplied the value at a fleet spec path, and that value. */
const FLAG_OF_SPEC_PATH: Array<[RegExp, string, (s: InitSettings, index: number) => string]> = [
  [/^clusters\[0\]\.name$/, "--aggregator", (s) => s.aggregator],
  [/^clusters\[0\]\.ingress\b/, "--remote-write-url", (s) => s.remoteWriteUrl],
  [/^remoteWrite\.url$/, "--remote-write-url", (s) => s.remoteWriteUrl],
  [/^package\.version$/, "--package-version", (s) => s.packageVersion],
  [/^delivery$/, "--delivery", (s) => s.delivery],
  [/^git\.url$/, "--git-url", (s) => s.gitUrl],
  [/^secrets\.sops\.ageRecipients\[(\d+)\]$/, "--age-recipient", (s, i) => s.ageRecipients[i] ?? ""],
];

/**
 * The fleet spec's problems with the spec init built, told as problems with the flags: the user never
 * saw that fleet.yaml. A flag that already has a problem of its own is not reported twice.
 */
export function asFlagProblems(specProblems: Problem[], s: InitSettings, flagged: Problem[]): Problem[] {
  const seen = new Set(flagged.map((p) => `${p.path}`));
  const out: Problem[] = [];
  for (const p of specProblems) {
    const match = FLAG_OF_SPEC_PATH.map(([re, flag, value]) => ({
      m: re.exec(p.path ?? ""),
      flag,
      value,
    })).find((x) => x.m);
    if (!match?.m) {
      out.push(p);
      continue;
    }
    const value = match.value(s, Number(match.m[1] ?? 0));
    if (seen.has(match.flag) || seen.has(`${match.flag}=${value}`)) continue;
    seen.add(`${match.flag}=${value}`);
    out.push({
      file: WHERE,
      path: match.flag,
      message: `${JSON.stringify(value)} cannot be fleet.yaml's ${p.path}: ${p.message}`,
      fix: p.fix,
    });
  }
  return out;
}

export function flagError(problems: Problem[]): PromfleetError {
  const noun = problems.length === 1 ? "problem" : "problems";
  return new PromfleetError(
    `${WHERE}: ${problems.length} ${noun}; nothing was written`,
    ExitCode.badInput,
    problems,
  );
}
