/**
 * Recovery is oldest first, also for fibers started in the same millisecond (on virtual time every
 * fiber started without an advance in between is): ties go to the order the fibers were recorded,
 * not to their random ids. So does listFibers' newest first.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest } from "./helpers.ts";

const never = new Promise<never>(() => {});
const recovered: string[] = [];
const NAMES = Array.from({ length: 12 }, (_, i) => `step-${i + 1}`);

class Sequencer extends Agent {
  /** Starts the fibers one after another, in one event: all in the same (virtual) millisecond. */
  begin(names: string[]) {
    for (const name of names) void this.runFiber(name, () => never);
  }

  /** The same with startFiber, for listFibers. */
  async accept(names: string[]) {
    for (const name of names) await this.startFiber(name, () => never);
  }

  async listed() {
    return (await this.listFibers({ limit: 100 })).map((fiber) => fiber.name);
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push(ctx.name);
  }
}

const env = envPerTest({ agents: { Sequencer } }, () => {
  recovered.length = 0;
});

describe("fibers started in the same millisecond", () => {
  it("are recovered in the order they started", async () => {
    const t = await env();
    await t.get<Sequencer>("Sequencer", "a").begin(NAMES);
    await t.restart();
    await t.clock.settle();
    expect(recovered).toEqual(NAMES);
  });

  it("are listed newest first in the reverse of that order", async () => {
    const t = await env();
    const sequencer = t.get<Sequencer>("Sequencer", "b");
    await sequencer.accept(NAMES);
    expect(await sequencer.listed()).toEqual([...NAMES].reverse());
  });
});
