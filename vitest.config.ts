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
    // One module graph per worker, not per file: most files import the whole runtime, and loading it
    // again for each of ~300 files cost ~360 s of CPU (2026-12-03: 363 s → 87 s of "import"). Files
    // must not rely on a fresh module state: reset what they change in afterEach.
    isolate: false,
    // Most suites wait on sockets, child processes and timers, not the CPU: on a small machine one
    // worker per spare core (vitest's default) leaves it idle. Measured on 2 cores: 342 s → 222 s
    // (1 → 3 workers); a fourth is slower (2026-12-03, 2,453 tests: 490 s with 3, 549 s with 4).
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
