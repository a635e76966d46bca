/**
 * A facet's code that throws, loops, allocates or waits forever fails that call with the limit that
 * stopped it; the event's writes are undone, the operator keeps serving, and the next call gets a
 * fresh sandbox over the same data. A new version of the code runs against the same data after an
 * abort (the code-update path).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { codeHost, defineWorker, forgetWorkers, startCodeHost, type FacetCode } from "./loaded-support.ts";

const CUSTOMER = `
import { DurableObject } from "cloudflare:workers";

export class Customer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.inMemory = 0;
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (entry TEXT)");
  }

  bump() {
    this.inMemory++;
    this.ctx.storage.sql.exec("INSERT INTO log VALUES ('bump')");
    return { inMemory: this.inMemory, stored: this.stored() };
  }

  stored() { return this.ctx.storage.sql.exec("SELECT count(*) AS n FROM log").one().n; }
  entries() { return this.ctx.storage.sql.exec("SELECT entry FROM log").toArray().map((row) => row.entry); }

  fail() {
    this.ctx.storage.sql.exec("INSERT INTO log VALUES ('fail')");
    throw new RangeError("a bug in the customer's code");
  }

  spin() {
    this.ctx.storage.sql.exec("INSERT INTO log VALUES ('spin')");
    for (;;) {}
  }

  hog() {
    this.ctx.storage.sql.exec("INSERT INTO log VALUES ('hog')");
    const kept = [];
    for (;;) kept.push("x".repeat(1024 * 1024) + kept.length);
  }

  async hang() {
    this.ctx.storage.sql.exec("INSERT INTO log VALUES ('hang')");
    await this.env.NEVER();
  }

  huge() {
    return this.ctx.storage.sql.exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000) SELECT x, 'some padding text' AS p FROM c").toArray().length;
  }

  async bigValue(mib) {
    try {
      await this.ctx.storage.put("big", "x".repeat(mib * 1024 * 1024));
      return "stored";
    } catch (e) {
      return e.name + ": " + e.message;
    }
  }

  async flood() {
    try {
      await Promise.all(Array.from({ length: 1500 }, (_, i) => this.ctx.storage.put("k" + i, i)));
      return "stored";
    } catch (e) {
      return e.name + ": " + e.message;
    }
  }
}
`;

const V2 = `
import { DurableObject } from "cloudflare:workers";
export class Customer extends DurableObject {
  entries() { return { version: 2, entries: this.ctx.storage.sql.exec("SELECT entry FROM log").toArray().map((row) => row.entry) }; }
}
`;

/** Calls of the NEVER capability so far: a call awaiting it is under way. */
let neverCalls = 0;
const NEVER = () => {
  neverCalls++;
  return new Promise<never>(() => {});
};

async function untilNeverCalled(count: number): Promise<void> {
  while (neverCalls < count) await new Promise((resolve) => setTimeout(resolve, 2));
}
const limited: FacetCode = { worker: "customer-v1", options: { limits: { cpuMs: 100, memoryBytes: 16 * 1024 * 1024, wallMs: 1_000 } } };
/** cpuMs alone can stop a loop: on a loaded machine 100 ms of CPU may take more than `limited`'s second of wall clock. */
const cpuBound: FacetCode = { worker: "customer-v1", options: { limits: { cpuMs: 100, memoryBytes: 16 * 1024 * 1024, wallMs: 120_000 } } };
// Room to reach the memory limit before the CPU budget (building a MiB of string takes a few ms here).
const roomyCpu: FacetCode = { worker: "customer-v1", options: { limits: { cpuMs: 5_000, memoryBytes: 16 * 1024 * 1024 } } };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  forgetWorkers();
});

async function start() {
  defineWorker("customer-v1", CUSTOMER, { env: { NEVER } });
  defineWorker("customer-v2", V2);
  defineWorker("customer-broken", "export class Customer extends");
  harness = await startCodeHost();
  return codeHost(harness);
}

describe("a facet's code at its limits", () => {
  it("fails the call that throws, undoes its writes and keeps the object", async () => {
    const host = await start();
    expect(await host.call("acme", limited, "bump")).toEqual({ value: { inMemory: 1, stored: 1 } });
    expect(await host.call("acme", limited, "fail")).toEqual({ error: { name: "RangeError", message: "a bug in the customer's code" } });
    expect(await host.call("acme", limited, "bump")).toEqual({ value: { inMemory: 2, stored: 2 } });
  });

  it("stops an endless loop at cpuMs while the operator and other customers are served; the next call gets a fresh sandbox", async () => {
    const host = await start();
    expect(await host.call("acme", cpuBound, "bump")).toEqual({ value: { inMemory: 1, stored: 1 } });
    const spinning = host.call("acme", cpuBound, "spin");
    const [spun, ping, other] = await Promise.all([spinning, host.ping(), host.call("globex", cpuBound, "bump")]);
    expect(spun).toEqual({ error: { name: "SandboxLimitError", message: "CPU budget of 100 ms exceeded (cpuMs)", limit: "cpuMs" } });
    expect(ping).toBe("pong");
    expect(other).toEqual({ value: { inMemory: 1, stored: 1 } });
    // A fresh sandbox: the constructor ran again (in-memory state is gone); the stored data is there, without the loop's write.
    expect(await host.call("acme", cpuBound, "bump")).toEqual({ value: { inMemory: 1, stored: 2 } });
    expect(await host.call("acme", cpuBound, "entries")).toEqual({ value: ["bump", "bump"] });
  });

  it("stops a memory bomb at memoryBytes", async () => {
    const host = await start();
    await host.call("acme", roomyCpu, "bump");
    const [bombed, ping] = await Promise.all([host.call("acme", roomyCpu, "hog"), host.ping()]);
    expect(bombed).toEqual({ error: { name: "SandboxLimitError", message: "memory limit of 16 MiB exceeded (memoryBytes)", limit: "memoryBytes" } });
    expect(ping).toBe("pong");
    expect(await host.call("acme", roomyCpu, "bump")).toEqual({ value: { inMemory: 1, stored: 2 } });
  });

  it("stops a call that waits forever at wallMs", async () => {
    const host = await start();
    await host.call("acme", limited, "bump");
    const [hung, ping] = await Promise.all([host.call("acme", limited, "hang"), host.ping()]);
    expect(hung).toEqual({ error: { name: "SandboxLimitError", message: "wall-clock timeout of 1000 ms (wallMs)", limit: "wallMs" } });
    expect(ping).toBe("pong");
    // Its write before awaiting outside I/O was committed when the gate opened, as for any Durable Object.
    expect(await host.call("acme", limited, "entries")).toEqual({ value: ["bump", "hang"] });
  });

  it("bounds what crosses the sandbox boundary", async () => {
    const host = await start();
    const roomy: FacetCode = { worker: "customer-v1", options: { limits: { memoryBytes: 64 * 1024 * 1024, cpuMs: 5_000 } } };
    expect(await host.call("acme", roomy, "huge")).toEqual({
      error: {
        name: "RangeError",
        message: "The result of this query is over the 8388608 bytes (maxHostCallBytes) that can cross into the sandbox at once: read it in pages (LIMIT … OFFSET …)",
      },
    });
    expect(await host.call("acme", roomy, "bigValue", 3)).toEqual({
      value: expect.stringMatching(/^RangeError: Key and value combined cannot exceed 2097152 bytes/),
    });
    expect(await host.call("acme", roomy, "bigValue", 9)).toEqual({ value: expect.stringMatching(/^RangeError: host call message of \d+ bytes exceeds 8388608 bytes \(maxHostCallBytes\)$/) });
    expect(await host.call("acme", roomy, "flood")).toEqual({ value: "RangeError: too many host calls in flight: at most 1000 (maxPendingHostCalls)" });
    expect(await host.call("acme", roomy, "stored")).toEqual({ value: 0 });
  });
});

describe("a new version of a facet's code", () => {
  it("runs against the same data after abort, and a version that fails to load loses nothing", async () => {
    const host = await start();
    await host.call("acme", limited, "bump");
    await host.call("acme", limited, "bump");
    await host.abort("acme", "upgrading");
    const broken = (await host.call("acme", { worker: "customer-broken" }, "entries")) as { error: { message: string } };
    expect(broken.error.message).toMatch(/^Customer failed to start: SyntaxError: /);
    expect(await host.call("acme", { worker: "customer-v2" }, "entries")).toEqual({ value: { version: 2, entries: ["bump", "bump"] } });
    expect(await host.call("acme", { worker: "customer-v2" }, "bump")).toEqual({ error: { name: "TypeError", message: 'The RPC receiver does not implement the method "bump".' } });
    await host.abort("acme", "rolling back");
    expect(await host.call("acme", limited, "bump")).toEqual({ value: { inMemory: 1, stored: 3 } });
  });

  it("starts empty after the facet is deleted", async () => {
    const host = await start();
    await host.call("acme", limited, "bump");
    await host.remove("acme");
    expect(await host.call("acme", limited, "bump")).toEqual({ value: { inMemory: 1, stored: 1 } });
  });
});

describe("a facet stopped while its code runs", () => {
  it("fails the running call with the parent's reason when it aborts or deletes the facet", async () => {
    const host = await start();
    const waiting: FacetCode = { worker: "customer-v1", options: { limits: { wallMs: 60_000 } } };
    await host.call("acme", waiting, "bump");
    const before = neverCalls;
    const aborted = host.call("acme", waiting, "hang");
    await untilNeverCalled(before + 1);
    await host.abort("acme", "suspended by the operator");
    expect(await aborted).toEqual({ error: { name: "Error", message: "suspended by the operator" } });
    // Its write before the await was committed when the gate opened; the facet starts again on the next call.
    expect(await host.call("acme", waiting, "entries")).toEqual({ value: ["bump", "hang"] });

    const deleted = host.call("acme", waiting, "hang");
    await untilNeverCalled(before + 2);
    await host.remove("acme");
    expect(await deleted).toEqual({ error: { name: "Error", message: "Facet was deleted." } });
    expect(await host.call("acme", waiting, "entries")).toEqual({ value: [] });
  });
});
