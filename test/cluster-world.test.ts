/**
 * The control-plane harness's cleanup (issue 14): a failed run prints every process's log tail and still
 * removes its folder, so nothing is left behind whatever happens.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { World } from "./support/cluster/world.js";

describe("World.close", () => {
  afterEach(() => vi.restoreAllMocks());

  async function worldWithLog(): Promise<{ world: World; log: string }> {
    const world = await World.start();
    const log = path.join(world.dir, "edge-1", "etcd", "prometheus.log");
    await mkdir(path.dirname(log), { recursive: true });
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`);
    await writeFile(log, lines.join("\n") + "\n");
    return { world, log };
  }

  it("after a failure: prints the last 40 lines of every log, then removes the folder", async () => {
    const { world } = await worldWithLog();
    const printed: string[] = [];
    vi.spyOn(console, "error").mockImplementation((text: string) => void printed.push(text));
    await world.close(true);
    const output = printed.join("\n");
    expect(output).toContain(`--- ${path.join("edge-1", "etcd", "prometheus.log")} (last 40 lines)`);
    expect(output).toContain("line 61\n");
    expect(output).toContain("line 100");
    expect(output).not.toContain("line 60\n");
    expect(existsSync(world.dir)).toBe(false);
  });

  it("after a success: prints nothing and removes the folder", async () => {
    const { world } = await worldWithLog();
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await world.close(false);
    expect(error).not.toHaveBeenCalled();
    expect(existsSync(world.dir)).toBe(false);
  });
});
