/**
 * What the host's due-index rebuild learns from an agent file about its fibers: a fiber left running
 * needs its agent woken at once; an agent whose fibers all ended needs nothing.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { fiberWakeInFile } from "../../src/fiber/index-rebuild.ts";
import { agentFilePath } from "../../src/storage/agent-file.ts";
import type { TestEnv } from "../../src/testing/index.ts";
import { envPerTest, Gates } from "./helpers.ts";

const gates = new Gates();

class Worker extends Agent {
  begin(name: string) {
    void this.runFiber(name, () => gates.get(name).promise);
  }
  async quick() {
    return this.runFiber("quick", () => Promise.resolve(1));
  }
  ping() {
    return "pong";
  }
}

const env = envPerTest(undefined, () => gates.clear());

function wakeOf(t: TestEnv, name: string, now: number): number | null {
  const db = new DatabaseSync(agentFilePath(t.dataDir, "worker", name), { readOnly: true });
  try {
    return fiberWakeInFile(db, now);
  } finally {
    db.close();
  }
}

describe("fiberWakeInFile", () => {
  it("is now for a file with a fiber left running, null when fibers ended or never ran", async () => {
    const t = await env({ agents: { Worker } });
    await t.get<Worker>("Worker", "running").begin("long");
    await t.get<Worker>("Worker", "ended").quick();
    await t.get<Worker>("Worker", "never").ping();
    await t.host.close(); // releases the files; the running fiber's row stays
    expect(wakeOf(t, "running", 1234)).toBe(1234);
    expect(wakeOf(t, "ended", 1234)).toBeNull();
    expect(wakeOf(t, "never", 1234)).toBeNull();
  });
});

describe("a lost due index", () => {
  const recovered: string[] = [];
  class Keeper extends Agent {
    begin(name: string) {
      void this.runFiber(name, async (ctx) => {
        ctx.stash({ at: name });
        await gates.get(name).promise;
      });
    }
    async onFiberRecovered(ctx: FiberRecoveryContext) {
      recovered.push(`${this.name}:${ctx.name}:${JSON.stringify(ctx.snapshot)}`);
    }
  }

  it("is rebuilt with the fibers that need recovery, and the host recovers them without a client", async () => {
    const t = await env({ agents: { Keeper } });
    await t.get<Keeper>("Keeper", "k1").begin("long");
    await t.host.close();
    const { rmSync } = await import("node:fs");
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${t.dataDir}/host.sqlite${suffix}`, { force: true });
    await t.restart();
    expect(t.host.nextWake("Keeper", "k1")).not.toBeNull();
    await t.clock.settle();
    expect(recovered).toEqual(['k1:long:{"at":"long"}']);
  });
});
