/**
 * Runs promfleet-rendered agents (real Prometheus in agent mode, as in the end-to-end test) against a
 * real remote-write store on loopback: Thanos Receive + Thanos Query, Mimir, or VictoriaMetrics
 * single-node. Every process has a bounded lifetime; close() stops them all and removes the run dir
 * unless the run failed (then its path and logs are printed). useReceiverProof is a proof's lifecycle.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { loadFleet } from "../../../src/fleet/load.js";
import { readRenderInputs, renderFleet } from "../../../src/render/render.js";
import { exampleFleetRepo, repoRoot } from "../../helpers/fleet-repo.js";
import { keepTestFiles } from "../global-tmp.js";
import { e2eSkipReason } from "../e2e/env.js";
import { AGENTS, examplePods } from "../e2e/fleet-input.js";
import { startKsmExporter, type KsmExporter } from "../e2e/ksm-exporter.js";
import { planLocalProcess } from "../e2e/local-config.js";
import { freePort, PrometheusProcess } from "../e2e/prometheus-process.js";

export { AGENTS };

/** How often every agent scrapes its kube-state-metrics stand-in. */
export const AGENT_SCRAPE_SECONDS = 2;

/** Each agent's pods per namespace, as its kube-state-metrics stand-in serves them. */
export type Truth = ReadonlyMap<string, Readonly<Record<string, number>>>;

/** Where scripts/install-receiver-tools.sh puts the binaries for the committed pins. */
export function receiverBinDir(): string {
  return execFileSync(
    "bash",
    [path.join(repoRoot, "scripts", "install-receiver-tools.sh"), "--print-bin-dir"],
    {
      encoding: "utf8",
    },
  ).trim();
}

/** The binary `name` built by scripts/install-receiver-tools.sh. */
export function receiverBinary(name: string): string {
  return path.join(receiverBinDir(), name);
}

/** Why the receiver proof cannot run here, or undefined. */
export function receiverSkipReason(...binaries: string[]): string | undefined {
  const e2e = e2eSkipReason();
  if (e2e) return e2e;
  const missing = binaries.map(receiverBinary).find((file) => !existsSync(file));
  return (
    missing && `no ${path.basename(missing)} at ${missing} (run: bash scripts/install-receiver-tools.sh)`
  );
}

/**
 * The example fleet plus agents edge-1 and edge-2, with `receiverYaml` (lines under remoteWrite:) added,
 * rendered by promfleet; returns the fleet repository and each agent's values.yaml.
 */
export async function renderReceiverFleet(
  receiverYaml: string,
): Promise<{ dir: string; values: Map<string, string> }> {
  const dir = await exampleFleetRepo();
  const specFile = path.join(dir, "fleet.yaml");
  const spec = (await readFile(specFile, "utf8")).replace("remoteWrite:\n", `remoteWrite:\n${receiverYaml}`);
  const extra = AGENTS.filter((a) => a !== "kind").map(
    (a) => `  - name: ${a}\n    role: agent\n    retention: 5m\n    walPath: in-container\n`,
  );
  await writeFile(specFile, spec + extra.join(""));
  const fleet = await loadFleet(dir);
  const rendered = await renderFleet(fleet, await readRenderInputs(fleet));
  const values = new Map(
    AGENTS.map((a) => [a, rendered.files.get(`clusters/${a}/values.yaml`) as string] as const),
  );
  return { dir, values };
}

interface Member {
  process: PrometheusProcess;
  exporter?: KsmExporter;
}

export class StoreRun {
  readonly members = new Map<string, Member>();
  private failed = false;

  private constructor(
    readonly runDir: string,
    private readonly lifetimeSeconds: number,
  ) {}

  static async create(label: string, lifetimeSeconds: number): Promise<StoreRun> {
    return new StoreRun(
      await mkdtemp(path.join(os.tmpdir(), `promfleet-receiver-${label}-`)),
      lifetimeSeconds,
    );
  }

  /** Starts a store process (any binary) and waits until `readyPath` on `port` answers 200. */
  async startStore(name: string, binary: string, args: string[], port: number, readyPath: string) {
    const dir = path.join(this.runDir, name);
    await mkdir(dir, { recursive: true });
    const url = `http://127.0.0.1:${port}${readyPath}`;
    const process = new PrometheusProcess({
      name,
      dir,
      args,
      port,
      binary: receiverBinary(binary),
      maxLifetimeSeconds: this.lifetimeSeconds,
      readyTimeoutMs: 60_000,
      isReady: async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status === 200;
      },
    });
    this.members.set(name, { process });
    await process.start();
    return process;
  }

  /**
   * Starts an agent from its rendered values, scraping its own kube-state-metrics stand-in; with
   * Debian's Prometheus unless `prometheusBinary` is given.
   */
  async startAgent(
    name: string,
    valuesYaml: string,
    remoteWriteUrl: string,
    scrapeInterval: string,
    prometheusBinary?: string,
  ) {
    const dir = path.join(this.runDir, name);
    await mkdir(dir, { recursive: true });
    const exporter = await startKsmExporter(name, examplePods(name));
    const port = await freePort();
    const plan = await planLocalProcess({
      name,
      valuesYaml,
      dir,
      port,
      ksmTarget: exporter.target,
      remoteWriteUrl,
      scrapeInterval,
    });
    if (!plan.agentMode) throw new Error(`${name}: rendered values do not run Prometheus in agent mode`);
    const process = new PrometheusProcess({
      name,
      dir,
      args: plan.args,
      port,
      maxLifetimeSeconds: this.lifetimeSeconds,
      ...(prometheusBinary ? { binary: prometheusBinary } : {}),
    });
    this.members.set(name, { process, exporter });
    await process.start();
    return { process, exporter, config: plan.config };
  }

  /**
   * Starts every agent of AGENTS from its rendered values, writing to `writeUrlOf(agent, index)`, with
   * Debian's Prometheus unless `prometheusBinary` is given; returns each agent's truth.
   */
  async startAgents(
    values: ReadonlyMap<string, string>,
    writeUrlOf: (agent: string, index: number) => string,
    prometheusBinary?: string,
  ): Promise<Truth> {
    const started = await Promise.all(
      AGENTS.map(async (a, i) => {
        const { exporter } = await this.startAgent(
          a,
          values.get(a) as string,
          writeUrlOf(a, i),
          `${AGENT_SCRAPE_SECONDS}s`,
          prometheusBinary,
        );
        return [a, Object.fromEntries(exporter.truth())] as const;
      }),
    );
    return new Map(started);
  }

  member(name: string): Member {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  markFailed(): void {
    this.failed = true;
  }

  /** Agents first (they flush), then the stores, then the exporters; removes the run dir unless failed. */
  async close(): Promise<void> {
    const all = [...this.members.values()];
    const agents = all.filter((m) => m.exporter);
    await Promise.allSettled(agents.map((m) => m.process.stop(5_000)));
    await Promise.allSettled(all.filter((m) => !m.exporter).map((m) => m.process.stop(10_000)));
    await Promise.allSettled(agents.map((m) => m.exporter?.close()));
    if (this.failed || process.env.PROMFLEET_E2E_KEEP === "1") {
      console.error(
        `[receiver] run dir kept: ${this.runDir}\n${all.map((m) => `  ${m.process.logFile}`).join("\n")}`,
      );
      keepTestFiles();
    } else await rm(this.runDir, { recursive: true, force: true });
  }
}

export interface ReceiverProofOptions {
  /** Names the run dir. */
  label: string;
  /** The longest any process of the run may live. */
  lifetimeSeconds: number;
  /** The lines under remoteWrite: of the fleet spec (see renderReceiverFleet). */
  receiverYaml: string;
  /** Starts the store in `run`; returns where each agent writes. */
  startStore: (run: StoreRun) => Promise<(agent: string, index: number) => string>;
  /** The agents run the upstream Prometheus of install-receiver-tools.sh, not Debian's. */
  upstreamAgents: boolean;
  /** How long rendering and starting everything may take. */
  startTimeoutMs: number;
}

/** What a receiver proof's tests read; filled in before all of them. */
export interface ReceiverProof {
  /** The store and the agents (throws when they did not start). */
  readonly run: StoreRun;
  /** The rendered fleet repository. */
  readonly fleetDir: string;
  /** Each agent's rendered values.yaml. */
  readonly values: ReadonlyMap<string, string>;
  readonly truth: Truth;
}

/**
 * Registers a receiver proof's lifecycle in the enclosing describe: before all, the fleet rendered, the
 * store started and every agent started against it; after all, everything stopped and the fleet
 * repository removed; a failing test keeps the run dir and prints its logs.
 */
export function useReceiverProof(options: ReceiverProofOptions): ReceiverProof {
  let run: StoreRun | undefined;
  let fleetDir = "";
  let values: ReadonlyMap<string, string> = new Map();
  let truth: Truth = new Map();

  beforeAll(async () => {
    run = await StoreRun.create(options.label, options.lifetimeSeconds);
    const rendered = await renderReceiverFleet(options.receiverYaml);
    fleetDir = rendered.dir;
    values = rendered.values;
    const writeUrlOf = await options.startStore(run);
    const binary = options.upstreamAgents ? receiverBinary("prometheus") : undefined;
    truth = await run.startAgents(values, writeUrlOf, binary);
  }, options.startTimeoutMs);

  afterAll(async () => {
    await run?.close();
    if (fleetDir) await rm(fleetDir, { recursive: true, force: true });
  }, 60_000);

  beforeEach(({ onTestFailed }) => onTestFailed(() => run?.markFailed()));

  return {
    get run() {
      if (!run) throw new Error("the store did not start");
      return run;
    },
    get fleetDir() {
      return fleetDir;
    },
    get values() {
      return values;
    },
    get truth() {
      return truth;
    },
  };
}
