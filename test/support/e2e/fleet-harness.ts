/**
 * Runs a promfleet fleet on real Prometheus binaries on loopback: one aggregator, N agents,
 * each with its own kube-state-metrics stand-in, all from rendered package values.
 *
 *   const fleet = await Fleet.start(await loadFleetValues(), { scrapeInterval: "1s" });
 *   try { ... fleet.api.query(...) ... } catch (e) { fleet.markFailed(); throw e } finally { await fleet.close() }
 *
 * The run dir (configs, args, data, logs) is deleted by close() unless the run was marked
 * failed or PROMFLEET_E2E_KEEP=1; then its path is printed.
 */
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { keepTestFiles } from "../global-tmp.js";
import { startKsmExporter, type KsmExporter, type PodRef } from "./ksm-exporter.js";
import { planLocalProcess, type LocalPlan } from "./local-config.js";
import { fetchMetrics, PromApi, type MetricSample } from "./prom-api.js";
import { freePort, PrometheusProcess, sleep } from "./prometheus-process.js";

export interface ClusterInput {
  /** Fleet member name; the cluster name unless a test makes two members claim one name. */
  name: string;
  role: "aggregator" | "agent";
  /** Rendered Tanzu Prometheus package values (the clusters/<name>/values.yaml layout). */
  valuesYaml: string;
  /** What this cluster's kube-state-metrics stand-in reports. */
  pods: PodRef[];
}

export interface FleetOptions {
  /** Scrape interval put into every config by the local overlay. */
  scrapeInterval?: string;
  /** Hard lifetime of every Prometheus process (seconds); default 300. */
  maxLifetimeSeconds?: number;
  /** Prefix of the run dir under the OS temp dir. */
  label?: string;
  log?: (msg: string) => void;
}

export interface FleetMember {
  input: ClusterInput;
  exporter: KsmExporter;
  process: PrometheusProcess;
  plan: LocalPlan;
  dir: string;
}

export class Fleet {
  readonly members = new Map<string, FleetMember>();
  private failed = false;
  private closed = false;
  readonly startedAt = Date.now();

  private constructor(
    readonly runDir: string,
    private readonly o: Required<Omit<FleetOptions, "log">> & { log: (m: string) => void },
    readonly aggregatorPort: number,
  ) {}

  /** Starts exporters, then the aggregator, then the agents; each waits for /-/ready. */
  static async start(clusters: ClusterInput[], options: FleetOptions = {}): Promise<Fleet> {
    const aggregators = clusters.filter((c) => c.role === "aggregator");
    if (aggregators.length !== 1)
      throw new Error(`a fleet needs exactly one aggregator, got ${aggregators.length}`);
    const names = new Set<string>();
    for (const c of clusters) {
      if (names.has(c.name)) throw new Error(`duplicate fleet member ${c.name}`);
      names.add(c.name);
    }
    const o = {
      scrapeInterval: options.scrapeInterval ?? "1s",
      maxLifetimeSeconds: options.maxLifetimeSeconds ?? 300,
      label: options.label ?? "fleet",
      log: options.log ?? ((m: string) => console.log(`[e2e] ${m}`)),
    };
    const runDir = await mkdtemp(path.join(os.tmpdir(), `promfleet-e2e-${o.label}-`));
    const fleet = new Fleet(runDir, o, await freePort());
    try {
      await fleet.addMember(aggregators[0] as ClusterInput);
      await Promise.all(clusters.filter((c) => c.role === "agent").map((c) => fleet.addMember(c)));
      o.log(
        `fleet up in ${Date.now() - fleet.startedAt}ms: ${[...fleet.members.keys()].join(", ")} (run dir ${runDir})`,
      );
      return fleet;
    } catch (e) {
      fleet.markFailed();
      await fleet.close();
      throw e;
    }
  }

  get aggregator(): FleetMember {
    for (const m of this.members.values()) if (m.input.role === "aggregator") return m;
    throw new Error("no aggregator");
  }

  get agents(): FleetMember[] {
    return [...this.members.values()].filter((m) => m.input.role === "agent");
  }

  member(name: string): FleetMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no fleet member ${name}`);
    return m;
  }

  get aggregatorUrl(): string {
    return `http://127.0.0.1:${this.aggregatorPort}`;
  }

  get remoteWriteUrl(): string {
    return `${this.aggregatorUrl}/api/v1/write`;
  }

  /** The aggregator's HTTP API. */
  get api(): PromApi {
    return new PromApi(this.aggregatorUrl);
  }

  /** Starts one more member (its exporter and process) in the running fleet. */
  async addMember(input: ClusterInput): Promise<FleetMember> {
    if (this.members.has(input.name)) throw new Error(`duplicate fleet member ${input.name}`);
    const dir = path.join(this.runDir, input.name);
    await mkdir(dir, { recursive: true });
    const exporter = await startKsmExporter(input.name, input.pods);
    try {
      const port = input.role === "aggregator" ? this.aggregatorPort : await freePort();
      const plan = await planLocalProcess({
        name: input.name,
        valuesYaml: input.valuesYaml,
        dir,
        port,
        ksmTarget: exporter.target,
        remoteWriteUrl: input.role === "agent" ? this.remoteWriteUrl : "",
        scrapeInterval: this.o.scrapeInterval,
      });
      if (plan.agentMode !== (input.role === "agent"))
        throw new Error(
          `${input.name}: role ${input.role} but the rendered args ${plan.agentMode ? "enable" : "do not enable"} agent mode`,
        );
      const process = new PrometheusProcess({
        name: input.name,
        dir,
        args: plan.args,
        port,
        maxLifetimeSeconds: this.o.maxLifetimeSeconds,
      });
      const member: FleetMember = { input, exporter, process, plan, dir };
      this.members.set(input.name, member);
      const t0 = Date.now();
      await process.start();
      this.o.log(`${input.name} (${input.role}) ready on ${process.url} in ${Date.now() - t0}ms`);
      return member;
    } catch (e) {
      if (!this.members.has(input.name)) await exporter.close();
      throw e;
    }
  }

  async stop(name: string, graceMs?: number): Promise<void> {
    const t0 = Date.now();
    await this.member(name).process.stop(graceMs);
    this.o.log(`${name} stopped in ${Date.now() - t0}ms`);
  }

  async restart(name: string): Promise<void> {
    const t0 = Date.now();
    await this.member(name).process.start();
    this.o.log(`${name} restarted (same port and data dir) in ${Date.now() - t0}ms`);
  }

  /** A member's own /metrics (agents have no query API). */
  async metricsOf(name: string): Promise<MetricSample[]> {
    return await fetchMetrics(this.member(name).process.url);
  }

  /** Keep the run dir and print its path on close(). */
  markFailed(): void {
    this.failed = true;
  }

  /** Stops agents first (so they can flush), then the aggregator, then exporters. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const members = [...this.members.values()];
    const results = await Promise.allSettled(
      members.filter((m) => m.input.role === "agent").map((m) => m.process.stop(5_000)),
    );
    results.push(
      ...(await Promise.allSettled(
        members.filter((m) => m.input.role === "aggregator").map((m) => m.process.stop(10_000)),
      )),
    );
    results.push(...(await Promise.allSettled(members.map((m) => m.exporter.close()))));
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (this.failed || process.env.PROMFLEET_E2E_KEEP === "1") {
      const logs = members.map((m) => `  ${m.process.logFile}`).join("\n");
      console.error(`[e2e] run dir kept: ${this.runDir}\n[e2e] logs:\n${logs}`);
      keepTestFiles();
    } else {
      await rm(this.runDir, { recursive: true, force: true });
    }
    if (errors.length)
      console.error(`[e2e] cleanup problems: ${errors.map((e) => String(e.reason)).join("; ")}`);
  }

  /** Polls `check` until it returns true or `timeoutMs` passes; returns the elapsed ms. */
  static async until(
    what: string,
    timeoutMs: number,
    check: () => Promise<boolean>,
    intervalMs = 500,
  ): Promise<number> {
    const t0 = Date.now();
    let last: unknown;
    for (;;) {
      try {
        if (await check()) return Date.now() - t0;
      } catch (e) {
        last = e;
      }
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `timed out after ${timeoutMs}ms waiting for ${what}${last ? `; last error: ${String(last)}` : ""}`,
        );
      await sleep(intervalMs);
    }
  }
}
