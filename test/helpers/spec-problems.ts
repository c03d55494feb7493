import { expect } from "vitest";
import { parseFleet } from "../../src/fleet/load.js";
import { PromfleetError, type Problem } from "../../src/util/errors.js";

/** The problems a spec text is rejected with (bad input, exit 2); fails the test if it is accepted. */
export async function problemsOf(text: string, root = "/nonexistent"): Promise<Problem[]> {
  try {
    await parseFleet(text, root, "fleet.yaml", { requireCredentials: false });
  } catch (e) {
    expect(e).toBeInstanceOf(PromfleetError);
    expect((e as PromfleetError).exitCode).toBe(2);
    return (e as PromfleetError).problems;
  }
  throw new Error("expected the spec to be rejected");
}
