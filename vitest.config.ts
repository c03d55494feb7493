import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/support/build-once.ts", "test/support/global-tmp.ts"],
    reporters: ["default", "./test/support/skip-reporter.ts"],
  },
});
