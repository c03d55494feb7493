/**
 * Tests that need something outside the repository (a Prometheus binary, the go command, openssl, the Go
 * module proxy) say what is missing. Locally a missing prerequisite skips with that reason printed;
 * under CI=true it fails, so CI can never go green with part of the suite unrun.
 */
import { describe, it } from "vitest";

export const skipsFail = process.env.CI === "true";

/** `describe`, or, when `missing` names an absent prerequisite, a skip (locally) or a failure (CI). */
export function describeWith(missing: string | undefined, name: string, body: () => void): void {
  if (!missing) {
    describe(name, body);
  } else if (skipsFail) {
    describe(name, () =>
      it("has its prerequisites", () => {
        throw new Error(`${missing} (CI=true: a missing prerequisite fails the run)`);
      }),
    );
  } else {
    console.warn(`skipped "${name}": ${missing}`);
    describe.skip(name, body);
  }
}

/** Inside a test: skip with the reason printed (locally) or fail (CI). */
export function skipOrFail(ctx: { skip: (note?: string) => void }, reason: string): void {
  if (skipsFail) throw new Error(`${reason} (CI=true: a missing prerequisite fails the run)`);
  console.warn(`skipped: ${reason}`);
  ctx.skip(reason);
}
