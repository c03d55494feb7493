/**
 * What the rollout tests share: a real aggregator with three agents (the e2e harness) for the whole
 * file, and a fleet rendered onto a fresh fake GitHub per test.
 */
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { e2eSkipReason } from "../support/e2e/env.js";
import { Fleet } from "../support/e2e/fleet-harness.js";
import { loadFleetValues } from "../support/e2e/fleet-input.js";
import { exampleFleetRepo, promfleet, writeRepoFile } from "./fleet-repo.js";
import { githubFleet, type GitHubFleet } from "./github.js";

export interface RolloutFleet {
  /** The real aggregator and its agents (throws when they did not start). */
  readonly prometheus: Fleet;
  /** `spec` as fleet.yaml of the example fleet, rendered, on the fake's main branch; closed after the test. */
  onFakeGitHub(spec: string): Promise<GitHubFleet>;
}

/**
 * Registers the lifecycle in the calling test file: the aggregator started before all tests (unless the
 * e2e prerequisites are missing: the file's describeWith then skips) and stopped after them, the fake
 * GitHub of each test closed after it.
 */
export function useRolloutFleet(label: string): RolloutFleet {
  let prometheus: Fleet | undefined;
  let current: GitHubFleet | undefined;

  beforeAll(async () => {
    if (e2eSkipReason()) return;
    prometheus = await Fleet.start(await loadFleetValues(), {
      label,
      log: () => {},
      maxLifetimeSeconds: 1200,
    });
  }, 180_000);
  afterAll(async () => {
    await prometheus?.close();
  });
  afterEach(async () => {
    await current?.fake.close();
    current = undefined;
  });

  return {
    get prometheus() {
      if (!prometheus) throw new Error("the aggregator did not start");
      return prometheus;
    },
    async onFakeGitHub(spec) {
      const dir = await exampleFleetRepo();
      await writeRepoFile(dir, "fleet.yaml", spec);
      const rendered = await promfleet(dir, ["render"]);
      expect(rendered.code, rendered.stderr).toBe(0);
      current = await githubFleet(dir);
      return current;
    },
  };
}
