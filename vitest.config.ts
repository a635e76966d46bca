import { defineConfig } from "vitest/config";
import { hearthDecorators } from "./src/testing/vitest.ts";

export default defineConfig({
  plugins: [hearthDecorators()],
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    pool: "forks",
  },
});
