/** verify's error type. */
import { ExitCode, PromfleetError } from "../util/errors.js";

/**
 * The aggregator could not be asked: unreachable, an HTTP error, or an answer that is not a
 * Prometheus API response. The message names the URL (without credentials) and the status.
 * A cluster that is stale or missing is not an error: that is a VerifyResult with ok=false.
 */
export class VerifyError extends PromfleetError {
  constructor(
    message: string,
    /** HTTP status when the aggregator answered, undefined when it could not be reached. */
    readonly status?: number,
  ) {
    super(message, ExitCode.remoteFailed);
    this.name = "VerifyError";
  }
}
