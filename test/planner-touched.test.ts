/**
 * A cluster change renders only the clusters it touches (touchedClusters); that is safe only if they are
 * exactly the clusters whose render fingerprint the change alters. Checked against the real fingerprints,
 * computed before and after each kind of change.
 */
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { touchedClusters } from "../src/commands/cluster-change.js";
import { appendClusterEntry, removeClusterEntry, setCredentialFields } from "../src/fleet/edit.js";
import { parseFleet } from "../src/fleet/load.js";
import type { FleetSpec } from "../src/fleet/spec.js";
import { fingerprints } from "../src/render/fingerprint.js";
import { exampleFleetRepo, readRepoFile, writeRepoFile } from "./helpers/fleet-repo.js";
import { secureFleetRepo } from "./helpers/secure-fleet.js";

const HASH = bcrypt.hashSync("new password", 4);

async function prints(spec: FleetSpec): Promise<Map<string, string>> {
  return fingerprints(spec, { committedManifests: new Map(), yttVersion: "0.0.0" });
}

/** The clusters whose fingerprint a change from `before` to `after` alters (new ones included). */
async function alteredBy(before: FleetSpec, after: () => Promise<FleetSpec>): Promise<string[]> {
  const old = await prints(before);
  const now = await prints(await after());
  return [...now].filter(([name, print]) => old.get(name) !== print).map(([name]) => name);
}

async function specOf(dir: string, text: string): Promise<FleetSpec> {
  return parseFleet(text, dir, "fleet.yaml", { requireCredentials: false });
}

describe("touchedClusters: exactly the clusters whose fingerprint a change alters", () => {
  it("basic auth: onboard, offboard, rotate and finish touch the cluster and the aggregator", async () => {
    const { dir } = await secureFleetRepo({ agents: ["kind", "edge-1", "edge-2"] });
    const text = await readRepoFile(dir, "fleet.yaml");
    const before = await specOf(dir, text);
    const rotated = setCredentialFields(text, "edge-2", {
      passwordHash: HASH,
      generation: 1,
      previousPasswordHash: before.clusters[3]?.passwordHash as string,
    });
    const changes: Array<[string, string, string[], string[]]> = [
      [
        "onboard",
        appendClusterEntry(text, {
          name: "edge-9",
          role: "agent",
          overlays: [],
          values: {},
          passwordHash: HASH,
        }),
        ["orbstack", "edge-9"],
        ["orbstack", "edge-9"],
      ],
      ["offboard", removeClusterEntry(text, "edge-1"), ["orbstack"], ["orbstack", "edge-1"]],
      ["rotate", rotated, ["orbstack", "edge-2"], ["orbstack", "edge-2"]],
    ];
    for (const [kind, after, render, folders] of changes) {
      const spec = await specOf(dir, after);
      const touched = touchedClusters(before, spec, []);
      expect({ kind, render: touched?.render.map((c) => c.name) }).toEqual({ kind, render });
      expect({ kind, folders: touched?.folders }).toEqual({ kind, folders });
      expect({ kind, altered: await alteredBy(before, async () => spec) }).toEqual({ kind, altered: render });
      // the planners name the entry they edited rather than have every entry compared: the same answer
      const edited = folders.filter((name) => name !== "orbstack");
      expect(touchedClusters(before, spec, [], edited)).toEqual(touched);
    }
    const rotating = await specOf(dir, rotated);
    const finished = await specOf(
      dir,
      setCredentialFields(rotated, "edge-2", { previousPasswordHash: null }),
    );
    expect(touchedClusters(rotating, finished, [])?.render.map((c) => c.name)).toEqual([
      "orbstack",
      "edge-2",
    ]);
    expect(await alteredBy(rotating, async () => finished)).toEqual(["orbstack", "edge-2"]);
  });

  it("without authentication, onboarding touches the new cluster only", async () => {
    const dir = await exampleFleetRepo();
    const text = await readRepoFile(dir, "fleet.yaml");
    const before = await specOf(dir, text);
    const after = await specOf(
      dir,
      appendClusterEntry(text, { name: "edge-9", role: "agent", overlays: [], values: {} }),
    );
    expect(touchedClusters(before, after, [])?.render.map((c) => c.name)).toEqual(["edge-9"]);
    expect(await alteredBy(before, async () => after)).toEqual(["edge-9"]);
  });

  it("an overlay the change writes touches every cluster applying it; a fleet-level change leaves it to the whole tree", async () => {
    const dir = await exampleFleetRepo();
    await writeRepoFile(dir, "overlays/shared.yaml", "#! v1\n");
    const text = (await readRepoFile(dir, "fleet.yaml")).replace(
      "    walPath: in-container\n",
      "    walPath: in-container\n    overlays: [overlays/shared.yaml]\n",
    );
    const before = await specOf(dir, text);
    const onboarded = appendClusterEntry(text, {
      name: "edge-9",
      role: "agent",
      overlays: ["overlays/shared.yaml"],
      values: {},
    });
    const after = await specOf(dir, onboarded);
    expect(touchedClusters(before, after, ["overlays/shared.yaml"])?.render.map((c) => c.name)).toEqual([
      "kind",
      "edge-9",
    ]);
    const altered = await alteredBy(before, async () => {
      await writeRepoFile(dir, "overlays/shared.yaml", "#! v2\n");
      return after;
    });
    expect(altered).toEqual(["kind", "edge-9"]);

    const fleetLevel = await specOf(
      dir,
      onboarded.replace("guardClusterLabel: false", "guardClusterLabel: true"),
    );
    expect(touchedClusters(after, fleetLevel, [])).toBeUndefined();
  });
});
