import { availableParallelism } from "node:os";
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
    // Most suites wait on sockets, child processes and timers, not the CPU: on a small machine one
    // worker per spare core (vitest's default) leaves it idle. Measured on 2 cores: 342 s → 222 s
    // (1 → 3 workers); with the inspector's browser suites, 3 → 4 workers: 490 s → see docs/benchmarks.md.
    maxWorkers: Math.max(4, availableParallelism() - 1),
  },
});
