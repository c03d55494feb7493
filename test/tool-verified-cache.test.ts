/**
 * A built tool's sha256 check is cached by the binary's stat identity (dev, inode, size, mtime, ctime) in
 * <tools>/sha256/.<name>.verified: a warm run neither reads the binary nor trusts a pass whose binary,
 * record or cache changed. The checks run as root here, so an unreadable binary would prove nothing;
 * what the process read is measured instead, from the kernel's count of bytes it read (/proc/self/io).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readFile, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import { ExitCode, PromfleetError } from "../src/util/errors.js";
import { findTool, type ToolSpec } from "../src/util/tool.js";
import { findYtt } from "../src/ytt/ytt.js";
import { toolPath } from "./helpers/secure-fleet.js";
import { describeWith } from "./support/prerequisites.js";

const PROC_IO = "/proc/self/io";
const missing = existsSync(PROC_IO) ? undefined : `${PROC_IO} (Linux) counts the bytes a process reads`;

/** Bytes this process has read so far (read syscalls, page cache or not). */
const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(PROC_IO, "utf8"))?.[1]);

/** Bytes read while `fn` ran, and what it returned. */
async function reading<T>(fn: () => Promise<T>): Promise<{ bytes: number; value: T }> {
  const before = bytesRead();
  const value = await fn();
  return { bytes: bytesRead() - before, value };
}

/** A whole second: utimes can set it back exactly (fractions lose their last nanosecond digits). */
const MTIME = 1_700_000_000;
const systemSha256 = (file: string) => execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0];

interface Tools {
  dir: string;
  ytt: string;
  cache: string;
  record: string;
}

/** A tools folder holding a copy of the built ytt (its own inode) and the record install-tools.sh writes. */
async function toolsWithYtt(): Promise<Tools> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "promfleet-verified-"));
  await mkdir(path.join(dir, "bin"));
  await mkdir(path.join(dir, "sha256"));
  const ytt = path.join(dir, "bin", "ytt");
  await copyFile(toolPath("ytt"), ytt);
  await utimes(ytt, MTIME, MTIME);
  const record = path.join(dir, "sha256", "ytt");
  await writeFile(record, `${systemSha256(ytt)}  ytt\n`);
  return { dir, ytt, record, cache: path.join(dir, "sha256", ".ytt.verified") };
}

const find = (tools: Tools) =>
  reading(() => findYtt({ ...process.env, PROMFLEET_TOOLS_DIR: tools.dir, PROMFLEET_YTT: "" }));

async function refusal(tools: Tools): Promise<PromfleetError> {
  const error = await find(tools).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromfleetError);
  expect((error as PromfleetError).exitCode).toBe(ExitCode.missingTool);
  return error as PromfleetError;
}

const YTT_SIZE = (await stat(toolPath("ytt"))).size;
/** Far less than the binary, far more than the record, the cache and /proc/self/io itself. */
const NOT_THE_BINARY = 256 * 1024;

describeWith(missing, "the stat-keyed cache of a built tool's sha256 check", () => {
  /** Tools folders whose binary was copied over a second ago: a ctime that recent is not cached (SETTLED_MS). */
  let settled: Tools[] = [];
  const settledTools = (): Tools => {
    const tools = settled.pop();
    if (!tools) throw new Error("every test takes one settled tools folder: make more in beforeAll");
    return tools;
  };

  beforeAll(async () => {
    settled = await Promise.all(Array.from({ length: 7 }, () => toolsWithYtt()));
    await sleep(1100);
  });

  it("is written after a full check passes, then a warm run does not read the binary", async () => {
    const fresh = settledTools();
    const cold = await find(fresh);
    expect(cold.value.version).toBe("0.52.1");
    expect(cold.bytes).toBeGreaterThanOrEqual(YTT_SIZE);
    const cache = await readFile(fresh.cache, "utf8");
    expect(cache).toContain(systemSha256(fresh.ytt));
    expect(cache).toContain(` ${(await stat(fresh.ytt, { bigint: true })).ino} `);
    expect(cache).toContain("ytt version 0.52.1");

    const warm = await find(fresh);
    expect(warm.value).toEqual(cold.value);
    expect(warm.bytes).toBeLessThan(NOT_THE_BINARY);
  });

  it("does not cover one byte changed in place with size and mtime restored: ctime differs, refused", async () => {
    const changed = settledTools();
    await find(changed);
    const before = await stat(changed.ytt, { bigint: true });
    const file = await open(changed.ytt, "r+");
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, 1000);
    await file.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 1000);
    await file.close();
    await utimes(changed.ytt, MTIME, MTIME);
    const after = await stat(changed.ytt, { bigint: true });
    expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);

    const error = await refusal(changed);
    const recorded = (await readFile(changed.record, "utf8")).split(" ")[0];
    expect(error.message).toContain(
      `${changed.ytt}: sha256 ${systemSha256(changed.ytt)} is not the ${recorded} recorded when it was built`,
    );
  });

  it("ignores a garbled cache or another binary's (another inode): full check, cache rewritten", async () => {
    const garbled = settledTools();
    const moved = settledTools();
    await find(garbled);
    await writeFile(garbled.cache, '{"key": [');
    const afterGarbled = await find(garbled);
    expect(afterGarbled.bytes).toBeGreaterThanOrEqual(YTT_SIZE);
    expect(JSON.parse(await readFile(garbled.cache, "utf8"))).toHaveProperty("versionOutput");

    // same content and record, so only the stat identity tells the two caches apart
    await find(moved);
    await copyFile(garbled.cache, moved.cache);
    expect((await find(moved)).bytes).toBeGreaterThanOrEqual(YTT_SIZE);
    expect((await find(moved)).bytes).toBeLessThan(NOT_THE_BINARY);
  });

  it("does not cover a replaced record: full check against the new one, refused", async () => {
    const replaced = settledTools();
    await find(replaced);
    const other = "0".repeat(64);
    await writeFile(replaced.record, `${other}  ytt\n`);
    const error = await refusal(replaced);
    expect(error.message).toContain(`is not the ${other} recorded when it was built`);
  });

  it("is written only once the binary passed the tool's own check, which a warm run then skips", async () => {
    const checked = settledTools();
    const checks: string[] = [];
    const spec = (check: ToolSpec["check"]): ToolSpec => ({
      name: "ytt",
      envVar: "PROMFLEET_TEST_NO_SUCH_VARIABLE",
      versionArgs: ["version"],
      parseVersion: (out) => /ytt version (\S+)/.exec(out)?.[1],
      accepts: () => true,
      minimum: "0.0.0",
      installHint: "",
      check,
    });
    const env = { ...process.env, PROMFLEET_TOOLS_DIR: checked.dir };
    const refusing = spec(() => Promise.reject(new PromfleetError("cannot do it", ExitCode.missingTool)));
    await expect(findTool(refusing, env)).rejects.toThrow("cannot do it");
    expect(existsSync(checked.cache)).toBe(false);

    const passing = spec(async (tool) => void checks.push(tool.path));
    await findTool(passing, env);
    await findTool(passing, env);
    expect(checks).toEqual([checked.ytt]);

    // a promfleet whose check differs (a later release) does not trust a cache the old check wrote
    const stricter = spec(() =>
      Promise.reject(new PromfleetError("a newer check refuses", ExitCode.missingTool)),
    );
    await expect(findTool(stricter, env)).rejects.toThrow("a newer check refuses");
  });

  it("never stops a command when the cache cannot be written", async () => {
    const unwritable = settledTools();
    await mkdir(unwritable.cache); // root can write anywhere; a folder in the cache's place it cannot replace
    const r = await find(unwritable);
    expect(r.value.version).toBe("0.52.1");
    expect((await find(unwritable)).bytes).toBeGreaterThanOrEqual(YTT_SIZE);
  });

  it("does not cache a binary changed within the last second (a same-tick change could keep its ctime)", async () => {
    const young = await toolsWithYtt();
    expect((await find(young)).value.version).toBe("0.52.1");
    expect(existsSync(young.cache)).toBe(false);
  });
});
