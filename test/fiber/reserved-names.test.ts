/**
 * Fiber names starting with `hearth:` belong to Hearth's built-in features (a team run, a chat turn),
 * which recover those fibers themselves: a user fiber named so would never reach onFiberRecovered.
 * runFiber and startFiber refuse them with a clear error; the features still run theirs.
 */
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { RUN_FEATURE_FIBER } from "../../src/fiber/feature-recovery.ts";
import { envPerTest } from "./helpers.ts";

class Named extends Agent {
  onError() {}

  async run(name: string) {
    try {
      return await this.runFiber(name, () => Promise.resolve("ran"));
    } catch (error) {
      return `refused: ${(error as Error).message}`;
    }
  }

  async start(name: string) {
    try {
      return (await this.startFiber(name, () => Promise.resolve(), { waitForCompletion: true })).status;
    } catch (error) {
      return `refused: ${(error as Error).message}`;
    }
  }

  /** The path of a built-in feature. */
  async runAsFeature(name: string) {
    return this[RUN_FEATURE_FIBER](name, () => Promise.resolve("ran"));
  }

  fiberCount() {
    const table = this.sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE name = '_hearth_fibers'`[0]!.n;
    return table === 0 ? 0 : this.sql<{ n: number }>`SELECT count(*) AS n FROM _hearth_fibers`[0]!.n;
  }
}

const env = envPerTest({ agents: { Named } });

describe("the reserved fiber prefix", () => {
  it("runFiber and startFiber refuse names starting with hearth:, recording nothing", async () => {
    const named = (await env()).get<Named>("Named", "a");
    expect(await named.run("hearth:team:mine")).toMatch(/^refused: runFiber\(\): fiber names starting with "hearth:" are reserved for Hearth's built-in features/);
    expect(await named.start("hearth:other")).toMatch(/^refused: startFiber\(\): fiber names starting with "hearth:" are reserved/);
    expect(await named.fiberCount()).toBe(0);
  });

  it("other names run, including ones that only contain hearth:", async () => {
    const named = (await env()).get<Named>("Named", "b");
    expect(await named.run("my-hearth:job")).toBe("ran");
    expect(await named.start("hearth")).toBe("completed");
  });

  it("built-in features still run fibers under the prefix", async () => {
    const named = (await env()).get<Named>("Named", "c");
    expect(await named.runAsFeature("hearth:team:run-1")).toBe("ran");
  });
});
