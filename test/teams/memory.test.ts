import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { appendReducer, fnMember, parallel, pipeline, step, team, teamMemory } from "../../src/teams/index.ts";

const research = team(
  "mem-research",
  pipeline(
    parallel({
      web: step(fnMember("web", () => ["web-2", "web-1"]), { saveAs: "sources" }),
      papers: step(fnMember("papers", () => "paper-1"), { saveAs: "sources" }),
      topic: step(fnMember("topic", (q: string) => q.toUpperCase()), { saveAs: "topic" }),
    }),
    step(fnMember("write", (input: { topic: string; sources: string[] }) => `${input.topic}: ${input.sources.join(", ")}`), {
      input: (_previous, scratch) => ({ topic: scratch.topic, sources: scratch.sources }),
    }),
  ),
  { scratchpad: { sources: appendReducer<string>() } },
);

class Owner extends Agent {
  async research(q: string): Promise<unknown> {
    return research.run(this, q);
  }
  async remember(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    await teamMemory(this, "prefs").put(key, value, ttlSeconds === undefined ? {} : { ttlSeconds });
  }
  async recall(key: string): Promise<unknown> {
    return (await teamMemory(this, "prefs").get(key)) ?? null;
  }
  async recallElsewhere(key: string): Promise<unknown> {
    return (await teamMemory(this, "other").get(key)) ?? null;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("team memory", () => {
  it("a scratchpad merges parallel writes with the key's reducer, whatever order branches finish in", async () => {
    t = await createTestEnv({ agents: { Owner } });
    const owner = t.get<Owner>("Owner", "o") as unknown as Owner;
    expect(await owner.research("llamas")).toBe("LLAMAS: paper-1, web-1, web-2");
  });

  it("memory across runs: namespaced, JSON, gone after its TTL", async () => {
    t = await createTestEnv({ agents: { Owner } });
    const owner = t.get<Owner>("Owner", "o") as unknown as Owner;
    await owner.remember("ada", { tone: "brief" }, 3600);
    expect(await owner.recall("ada")).toEqual({ tone: "brief" });
    expect(await owner.recallElsewhere("ada")).toBeNull();
    await t.clock.advance("59 min");
    expect(await owner.recall("ada")).toEqual({ tone: "brief" });
    await t.clock.advance("2 min");
    expect(await owner.recall("ada")).toBeNull();
    await expect(owner.remember("ada", 1, 10)).rejects.toThrow("A team memory TTL must be a whole number of seconds ≥ 60 (KV's minimum); got 10");
  });
});
