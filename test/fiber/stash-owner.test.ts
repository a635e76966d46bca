/**
 * `this.stash()` is the checkpoint of a fiber of this agent. Code of another agent that a fiber
 * calls runs in the fiber's async context (an RPC within the process); its `this.stash()` must not
 * reach the caller's checkpoint (nor commit the caller's database): outside a fiber of its own, it throws.
 */
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { envPerTest, type StoredFiber } from "./helpers.ts";

class Caller extends Agent {
  /** A fiber that checkpoints, then calls another agent that tries to checkpoint too; returns its answer. */
  async callOut() {
    return this.runFiber("a-work", async (ctx) => {
      ctx.stash({ mine: "caller" });
      const answer = await (this.env as { Callee: { getByName(name: string): Callee } }).Callee.getByName("b").poke();
      return { answer, rows: this.rows() };
    });
  }

  rows(): Array<Pick<StoredFiber, "name" | "snapshot">> {
    return this.sql<StoredFiber>`SELECT name, snapshot FROM _hearth_fibers`.map(({ name, snapshot }) => ({ name, snapshot }));
  }
}

class Callee extends Agent {
  poke() {
    try {
      this.stash({ from: "callee" });
      return "stash accepted";
    } catch (error) {
      return `threw: ${(error as Error).message}`;
    }
  }
}

const env = envPerTest({ agents: { Caller, Callee } });

describe("this.stash() and the agent whose fiber runs", () => {
  it("another agent called from a fiber cannot stash into it: it throws, and the caller's checkpoint stays", async () => {
    const t = await env();
    const { answer, rows } = await t.get<Caller>("Caller", "a").callOut();
    expect(answer).toMatch(/^threw: stash\(\) was called outside a fiber of this agent/);
    expect(rows).toEqual([{ name: "a-work", snapshot: '{"mine":"caller"}' }]);
  });
});
