/**
 * The spec edits of a rollout, on the parsed YAML document (comments kept): pin a wave's clusters to the
 * new version or stage the new overlay on them, record the wave reached in `rollout:`, and at the end make
 * the change fleet-wide (or, to abort, take it back) and drop every pin and stage the rollout made.
 */
import { isSeq, type Document } from "yaml";
import type { FleetSpec, RolloutSpec } from "../fleet/spec.js";

export type RolloutTarget = RolloutSpec["target"];

/** Moves the named clusters to the target; clusters `held` (pinned to a third version) keep their pin. */
export function moveClusters(doc: Document, spec: FleetSpec, names: string[], target: RolloutTarget): void {
  spec.clusters.forEach((c, i) => {
    if (!names.includes(c.name)) return;
    if (target.kind === "packageVersion") {
      if (!isHeld(spec, c.name, target)) doc.setIn(["clusters", i, "package", "version"], target.version);
    } else if (!c.stagedOverlays.includes(target.file))
      doc.setIn(["clusters", i, "stagedOverlays"], [...c.stagedOverlays, target.file]);
  });
}

/** A cluster pinned to a version that is neither the fleet's nor the target's: a rollout leaves it alone. */
export function isHeld(spec: FleetSpec, name: string, target: RolloutTarget): boolean {
  const pinned = spec.clusters.find((c) => c.name === name)?.packageVersion;
  return (
    target.kind === "packageVersion" &&
    pinned !== undefined &&
    pinned !== spec.package.version &&
    pinned !== target.version
  );
}

export function recordWave(doc: Document, target: RolloutTarget, wave: string): void {
  const block =
    target.kind === "packageVersion"
      ? { packageVersion: target.version, wave }
      : { overlay: target.file, wave };
  doc.set("rollout", doc.createNode(block));
}

/** The last wave: the target becomes the fleet's, and the per-cluster pins and stages go. */
export function completeRollout(doc: Document, spec: FleetSpec, target: RolloutTarget): void {
  if (target.kind === "packageVersion") doc.setIn(["package", "version"], target.version);
  else appendFleetOverlay(doc, spec, target.file);
  dropRolloutMarks(doc, spec, target);
}

/** Abort: every pin and stage of the rollout goes; the fleet's own version and overlays never changed. */
export function undoRollout(doc: Document, spec: FleetSpec, target: RolloutTarget): void {
  dropRolloutMarks(doc, spec, target);
}

function appendFleetOverlay(doc: Document, spec: FleetSpec, file: string): void {
  if (spec.overlays.includes(file)) return;
  const list = doc.get("overlays", true);
  if (isSeq(list)) list.add(doc.createNode(file));
  else doc.set("overlays", doc.createNode([file]));
}

function dropRolloutMarks(doc: Document, spec: FleetSpec, target: RolloutTarget): void {
  spec.clusters.forEach((c, i) => {
    if (target.kind === "packageVersion") {
      if (c.packageVersion === target.version) doc.deleteIn(["clusters", i, "package"]);
    } else if (c.stagedOverlays.includes(target.file)) {
      const rest = c.stagedOverlays.filter((o) => o !== target.file);
      if (rest.length > 0) doc.setIn(["clusters", i, "stagedOverlays"], rest);
      else doc.deleteIn(["clusters", i, "stagedOverlays"]);
    }
  });
  doc.delete("rollout");
}
