/**
 * One real Prometheus process for the end-to-end test.
 *
 * - runs in its own process group, wrapped in coreutils `timeout` when available, so it dies
 *   after `maxLifetimeSeconds` even if the test runner itself is killed;
 * - stdout/stderr go to `<dir>/prometheus.log` (appended across restarts);
 * - `start()` waits for `/-/ready`; `stop()` sends SIGTERM, then SIGKILL after a grace period;
 *   `restart()` starts again with the same args, so the same data dir and port.
 * Every live process is also killed from a process 'exit' hook as a last resort.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { prometheusBinary, timeoutBinary } from "./env.js";

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of live) killGroup(c, "SIGKILL");
  });
}

const reservedPorts = new Set<number>();

/** A loopback port that was free a moment ago (and not handed out before by this process). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!reservedPorts.has(port)) {
      reservedPorts.add(port);
      return port;
    }
  }
  throw new Error("no free loopback port found");
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PrometheusProcessOptions {
  name: string;
  /** Directory for the log (config and data live where the args say). */
  dir: string;
  args: string[];
  port: number;
  binary?: string;
  /** Hard limit for one run of the process; it is killed after this, whatever happens. */
  maxLifetimeSeconds: number;
  readyTimeoutMs?: number;
  /** Readiness probe for a server behind TLS or authentication; default: GET /-/ready over http. */
  isReady?: () => Promise<boolean>;
}

export class PrometheusProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private starts = 0;
  /** Wall-clock ms of the last successful start/ready and stop. */
  lastReadyAt = 0;
  lastStoppedAt = 0;

  constructor(private readonly o: PrometheusProcessOptions) {
    this.name = o.name;
    this.port = o.port;
    this.url = `http://127.0.0.1:${o.port}`;
    this.logFile = path.join(o.dir, "prometheus.log");
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get args(): readonly string[] {
    return this.o.args;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name}: already running`);
    installExitHook();
    const bin = this.o.binary ?? prometheusBinary();
    const timeoutBin = timeoutBinary();
    const life = Math.max(1, Math.ceil(this.o.maxLifetimeSeconds));
    const [cmd, argv] = timeoutBin
      ? [timeoutBin, ["--kill-after=5", String(life), bin, ...this.o.args]]
      : [bin, this.o.args];
    const fd = openSync(this.logFile, "a");
    writeSync(
      fd,
      `\n=== promfleet e2e: start #${++this.starts} of ${this.name} at ${new Date().toISOString()}\n=== ${bin} ${this.o.args.join(" ")}\n`,
    );
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, { cwd: this.o.dir, detached: true, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        live.delete(child);
        resolve(code);
      });
      child.once("error", () => {
        live.delete(child);
        resolve(null);
      });
    });
    // Node-side bound too (covers a missing `timeout` binary).
    this.lifetimeTimer = setTimeout(() => killGroup(child, "SIGKILL"), life * 1000 + 6000);
    this.lifetimeTimer.unref();
    await this.waitReady(this.o.readyTimeoutMs ?? 30_000);
    this.lastReadyAt = Date.now();
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `${this.name}: prometheus exited before it was ready (exit ${this.child?.exitCode ?? this.child?.signalCode}); log ${this.logFile}:\n${await this.logTail(25)}`,
        );
      }
      try {
        if (this.o.isReady) {
          if (await this.o.isReady()) return;
        } else {
          const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
          await res.body?.cancel();
          if (res.status === 200) return;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(150);
    }
    throw new Error(
      `${this.name}: not ready after ${timeoutMs}ms; log ${this.logFile}:\n${await this.logTail(25)}`,
    );
  }

  /** SIGTERM, then SIGKILL after graceMs. Resolves when the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    if (this.running) {
      // TERM to the wrapper only: `timeout` forwards it to prometheus.
      try {
        child.kill("SIGTERM");
      } catch {
        /* gone */
      }
      const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) killGroup(child, "SIGKILL");
    }
    await this.exited;
    // Make sure nothing of the group is left (prometheus under `timeout`).
    killGroup(child, "SIGKILL");
    if (this.lifetimeTimer) clearTimeout(this.lifetimeTimer);
    this.child = undefined;
    this.lastStoppedAt = Date.now();
  }

  /** Stop (if running) and start again with the same args: same port, same data dir. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async logTail(lines = 40): Promise<string> {
    try {
      const text = await readFile(this.logFile, "utf8");
      return text.split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
