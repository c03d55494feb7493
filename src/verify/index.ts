/** verify as a library: ask an aggregator (or a compatible query API) which clusters are receiving. */
export { VerifyError } from "./errors.js";
export { verifyFleet, freshnessQuery, classify, DEFAULT_LOOKBACK_SECONDS } from "./verify.js";
export type { VerifyOptions, ClusterHealth, VerifyResult } from "./verify.js";
