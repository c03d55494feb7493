/** The receiver as the spec states it, once the schema and the receiver rules have passed. */
import type { RawCluster, RawFleet } from "../fleet/schema.js";
import { AGGREGATOR_RECEIVER, type Receiver } from "./receiver.js";

type RawReceiver = NonNullable<NonNullable<RawFleet["remoteWrite"]>["receiver"]>;

export function receiverFromRaw(raw: RawFleet): Receiver {
  const r: RawReceiver | undefined = raw.remoteWrite?.receiver;
  if (!r || r.kind === "aggregator") return AGGREGATOR_RECEIVER;
  // The rules have required queryUrl, tenancy and aggregatorCluster for an external kind.
  return {
    kind: r.kind,
    queryUrl: r.queryUrl ?? "",
    tenancy: r.tenancy ?? "shared",
    ...(r.tenancy === "shared" ? { tenant: r.tenant } : {}),
    aggregatorCluster: r.aggregatorCluster ?? "keep",
  };
}

/** The spec's aggregator renders as an agent when the spec says so for an external receiver. */
export function rendersAsAgent(raw: RawFleet, c: RawCluster): boolean {
  const r = raw.remoteWrite?.receiver;
  return (
    c.role === "agent" || (r !== undefined && r.kind !== "aggregator" && r.aggregatorCluster === "agent")
  );
}
