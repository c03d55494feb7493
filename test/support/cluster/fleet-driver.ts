/**
 * Drives a fleet the way its operators do, with promfleet's own commands: `promfleet init` (git URL =
 * the local git server), pull requests against the fake GitHub merged there, a checkout of main, and
 * the commands promfleet prints (`kubectl --context <cluster> ...`) run exactly as printed.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import YAML from "yaml";
import { promfleet } from "../../helpers/fleet-repo.js";
import { TOKEN } from "../../helpers/github.js";
import { startFakeGitHub, type FakeGitHub } from "../fake-github/index.js";
import { clusterBinDir, controllerPath } from "./tools.js";
import { timed } from "./wait.js";
import type { World } from "./world.js";

export const REMOTE_WRITE_URL = "https://prometheus.example.com/api/v1/write";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class FleetDriver {
  private constructor(
    readonly world: World,
    /** The operator's workspace: where init ran, where credentials land (.promfleet/, git-ignored). */
    readonly workspace: string,
    readonly fake: FakeGitHub,
  ) {}

  /**
   * `promfleet init`, then the operator's edits of fleet.yaml (`specChanges`: YAML paths and values)
   * rendered with `promfleet render`, then published as the fleet repository's first commit.
   */
  static async init(
    world: World,
    aggregator: string,
    extraInitArgs: string[] = [],
    specChanges: Array<[string[], unknown]> = [],
  ): Promise<FleetDriver> {
    const workspace = path.join(await mkdtemp(path.join(os.tmpdir(), "promfleet-operator-")), "fleet");
    const init = await promfleet(path.dirname(workspace), [
      "init",
      workspace,
      "--aggregator",
      aggregator,
      "--remote-write-url",
      REMOTE_WRITE_URL,
      "--git-url",
      world.fleetRepoUrl,
      ...extraInitArgs,
    ]);
    if (init.code !== 0) throw new Error(`promfleet init failed (${init.code}): ${init.stderr}`);
    if (specChanges.length > 0) await editSpec(workspace, specChanges);
    // what `git push` of a new repository would publish: everything but the git-ignored .promfleet/
    const published = path.join(path.dirname(workspace), "published");
    await cp(workspace, published, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}.promfleet`),
    });
    const fake = await startFakeGitHub({ owner: "acme", repo: "fleet", token: TOKEN, seedDir: published });
    await world.serveFleetRepo(fake.bareRepo);
    const driver = new FleetDriver(world, workspace, fake);
    driver.folders.push(path.dirname(workspace));
    driver.printed.push(...nextSteps(init.stderr));
    return driver;
  }

  /** Temporary folders this driver made (workspace, checkouts), removed by close(). */
  private readonly folders: string[] = [];

  private async tempFolder(prefix: string): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.folders.push(dir);
    return dir;
  }

  /** Every `next:` line promfleet printed, in order. */
  readonly printed: string[] = [];

  /** promfleet against the fake GitHub, in the operator's workspace or in `dir` (a checkout). */
  async promfleet(args: string[], dir: string = this.workspace): Promise<CommandResult> {
    const r = await timed(`promfleet ${args.slice(0, 2).join(" ")}`, () =>
      promfleet(dir, [...args], {
        GITHUB_TOKEN: TOKEN,
        GITHUB_API_URL: this.fake.url,
        PATH: `${path.join(clusterBinDir())}${path.delimiter}${process.env.PATH ?? ""}`,
      }),
    );
    this.printed.push(...nextSteps(r.stderr));
    return r;
  }

  /** Opens the pull request with `args` (…, --pr, --repo acme/fleet), returns its number. */
  async openPr(args: string[]): Promise<number> {
    const r = await this.promfleet([...args, "--pr", "--repo", "acme/fleet", "--json"]);
    if (r.code !== 0) throw new Error(`promfleet ${args.join(" ")} --pr failed (${r.code}): ${r.stderr}`);
    return (JSON.parse(r.stdout) as { pr: { number: number } }).pr.number;
  }

  /** Opens the pull request with `args` and merges it, returns its number. */
  async mergedPr(args: string[]): Promise<number> {
    const number = await this.openPr(args);
    await this.fake.mergePull(number);
    return number;
  }

  /** A fresh checkout of main, as the operator's `git pull` would give. */
  async checkout(): Promise<string> {
    const dir = path.join(await this.tempFolder("promfleet-checkout-"), "fleet");
    await execa("git", ["clone", "-q", "--branch", "main", this.fake.bareRepo, dir]);
    return dir;
  }

  /** The commit main points at now. */
  async head(): Promise<string> {
    return (await execa("git", ["-C", this.fake.bareRepo, "rev-parse", "refs/heads/main"])).stdout.trim();
  }

  /** Commits everything changed in `checkout` and pushes it to main: a reviewed change being merged. */
  async push(checkout: string, message: string): Promise<void> {
    const env = {
      GIT_AUTHOR_NAME: "operator",
      GIT_AUTHOR_EMAIL: "operator@localhost",
      GIT_COMMITTER_NAME: "operator",
      GIT_COMMITTER_EMAIL: "operator@localhost",
    };
    await execa("git", ["-C", checkout, "add", "-A"], { env });
    await execa("git", ["-C", checkout, "commit", "-q", "-m", message], { env });
    await execa("git", ["-C", checkout, "push", "-q", "origin", "HEAD:main"], { env });
  }

  /** Runs a shell command promfleet printed, exactly as printed, in `cwd`, with the fleet's kubeconfig. */
  async runPrinted(command: string, cwd: string = this.workspace): Promise<CommandResult> {
    const r = await timed(command.slice(0, 80), () =>
      execa("sh", ["-c", command], {
        cwd,
        reject: false,
        env: { KUBECONFIG: this.world.kubeconfig, PATH: controllerPath() },
        timeout: 120_000,
      }),
    );
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  async close(): Promise<void> {
    await this.fake.close();
    for (const dir of this.folders) await rm(dir, { recursive: true, force: true });
  }
}

/** Sets YAML paths of `workspace`'s fleet.yaml (comments kept), then renders: an operator's spec edit. */
export async function editSpec(workspace: string, changes: Array<[string[], unknown]>): Promise<void> {
  const file = path.join(workspace, "fleet.yaml");
  const doc = YAML.parseDocument(await readFile(file, "utf8"));
  for (const [at, value] of changes) doc.setIn(at, value);
  await writeFile(file, doc.toString());
  const render = await promfleet(workspace, ["render"]);
  if (render.code !== 0) throw new Error(`promfleet render failed (${render.code}): ${render.stderr}`);
}

function nextSteps(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("next: "))
    .map((l) => l.slice("next: ".length));
}
