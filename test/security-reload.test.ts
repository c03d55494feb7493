/**
 * The SIGHUP reloader promfleet renders in place of configmap-reload, run for real: Debian's Prometheus
 * without --web.enable-lifecycle and the rendered script, in a private PID namespace (unshare) so that
 * its `pkill -x prometheus` can only reach this test's Prometheus. Only the watched folder and the poll
 * interval are changed from what the pod runs.
 */
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, expect, it } from "vitest";
import { RELOADER_SCRIPT } from "../src/render/package-overlay.js";
import { prometheusBinary, e2eSkipReason } from "./support/e2e/env.js";
import { freePort, sleep } from "./support/e2e/prometheus-process.js";
import { describeWith } from "./support/prerequisites.js";

const config = (interval: string) => `global:\n  scrape_interval: ${interval}\nscrape_configs: []\n`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 30): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const unshare = execa("unshare", ["--version"], { reject: false }).then((r) =>
  r.exitCode === 0 ? undefined : "unshare (util-linux) is not available",
);

describeWith(e2eSkipReason() ?? (await unshare), "config reload by SIGHUP, no lifecycle API", () => {
  const stops: Array<() => void> = [];
  afterAll(() => stops.forEach((stop) => stop()));

  it("a changed ConfigMap file is loaded; /-/reload and /-/quit are refused", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-reload-"));
    const configDir = path.join(dir, "config");
    await mkdir(configDir);
    await writeFile(path.join(configDir, "prometheus.yml"), config("1m"));
    const port = await freePort();
    const script = RELOADER_SCRIPT.replaceAll("/etc/config", configDir).replace("sleep 15", "sleep 1");
    expect(script).not.toBe(RELOADER_SCRIPT);
    const prometheus = [
      prometheusBinary(),
      `--config.file=${configDir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const pod = execa(
      "unshare",
      [
        "-Urpf",
        "--kill-child", // the namespace (Prometheus and the reloader) dies with unshare
        "--mount-proc",
        "sh",
        "-c",
        `${prometheus} 2>'${dir}/prometheus.log' & sh -c '${script.replaceAll("'", "'\\''")}' & wait`,
      ],
      { reject: false, timeout: 120_000 },
    );
    stops.push(() => pod.kill("SIGKILL"));
    const base = `http://127.0.0.1:${port}`;
    const interval = async () => {
      const r = await fetch(`${base}/api/v1/status/config`);
      return /scrape_interval: (\S+)/.exec(((await r.json()) as { data: { yaml: string } }).data.yaml)?.[1];
    };
    expect(await until("Prometheus", interval)).toBe("1m");
    expect((await fetch(`${base}/-/reload`, { method: "POST" })).status).toBe(403);
    expect((await fetch(`${base}/-/quit`, { method: "POST" })).status).toBe(403);
    await writeFile(path.join(configDir, "prometheus.yml"), config("30s"));
    expect(await until("the reload", async () => ((await interval()) === "30s" ? "30s" : undefined))).toBe(
      "30s",
    );
  });
});
