import { defineConfig } from "vitest/config";
import { standardDecorators } from "./test/support/decorators-plugin.ts";

export default defineConfig({
  plugins: [standardDecorators()],
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    pool: "forks",
  },
});
