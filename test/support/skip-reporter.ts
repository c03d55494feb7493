/**
 * Under CI=true, a run with any skipped or todo test fails: the last line of defence behind
 * `describeWith`/`skipOrFail`, catching a plain `.skip` too. Locally it lists the skips.
 */
import type { Reporter, TestModule } from "vitest/node";
const skipsFail = process.env.CI === "true";

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of modules)
      for (const test of module.children.allTests())
        if (test.result().state === "skipped") skipped.push(`${module.moduleId}: ${test.fullName}`);
    if (skipped.length === 0) return;
    const lines = skipped.map((s) => `  ${s}`).join("\n");
    if (!skipsFail) {
      console.warn(`\n${skipped.length} test(s) skipped:\n${lines}`);
      return;
    }
    console.error(`\nCI=true: ${skipped.length} test(s) skipped, which fails the run:\n${lines}`);
    process.exitCode = 1;
  }
}
