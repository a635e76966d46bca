import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { hearthDecorators } from "./src/testing/vitest.ts";

/**
 * `hearth` and `hearth/*` (what the examples import) resolve to the sources, as the tests' own imports
 * do: one copy of the runtime per worker. Resolved to the built package instead, a worker that ran an
 * example first had the package's Workers globals (WebSocketPair, the 101 Response) installed, which
 * the sources' server did not recognise, and the WebSocket tests that followed it there failed.
 */
const exportsMap = (JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { exports: Record<string, string | { import: string }> }).exports;
const packageToSources = Object.entries(exportsMap)
  .filter(([, target]) => typeof target === "object" && target.import.startsWith("./dist/"))
  .map(([subpath, target]) => ({
    find: new RegExp(`^hearth${subpath.slice(1).replaceAll("/", "\\/")}$`),
    replacement: new URL((target as { import: string }).import.replace("./dist/", "./src/").replace(/\.js$/, ".ts"), import.meta.url).pathname,
  }));

export default defineConfig({
  plugins: [hearthDecorators()],
  resolve: { alias: packageToSources },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // One PostgreSQL server for the cluster's test files (skipped where PostgreSQL is not installed).
    globalSetup: ["./test/support/postgres-global.ts"],
    setupFiles: ["./test/support/fake-timers-setup.ts"],
    pool: "forks",
    // One module graph per worker, not per file: most files import the whole runtime, and loading it
    // again for each of ~300 files cost ~360 s of CPU (2026-12-03: 363 s → 87 s of "import"). Files
    // must not rely on a fresh module state: reset what they change in afterEach.
    isolate: false,
    // Most suites wait on sockets, child processes and timers, not the CPU: on a small machine one
    // worker per spare core (vitest's default) leaves it idle. Measured on 2 cores: 342 s → 222 s
    // (1 → 3 workers). A fourth is slower where it counts: in `npm test` lint and typecheck run
    // alongside, and a fresh-clone CI run with 4 took 483 s of vitest (455 s with 3) and timed out two
    // crash tests (2026-12-04; vitest alone, 4 took 352 s against 397 s).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: "hearth", include: ["test/**/*.test.ts", "examples/**/*.test.ts"] } },
      // The client suites again, against three cluster nodes behind a round-robin balancer on a real
      // Postgres (test/cluster/support/in-process-cluster.ts): state sync, RPC, streaming, reconnects.
      {
        extends: true,
        test: { name: "cluster", include: ["test/client/client.test.ts", "test/client/agents-compat.test.ts"], env: { HEARTH_TEST_CLUSTER: "1" } },
      },
    ],
  },
});
