/**
 * `deleteAll()` takes the object's facets with it once the wipe is committed: at once outside a
 * transactionSync block (the wipe then stands whatever the event does next), with the block's writes
 * inside one (a block that throws leaves the facets' files).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, type DurableObjectNamespace } from "../../src/index.ts";

class Store extends DurableObject {
  async save(value: string): Promise<void> {
    await this.ctx.storage.put("v", value);
  }

  async read(): Promise<string | null> {
    return (await this.ctx.storage.get<string>("v")) ?? null;
  }
}

class Parent extends DurableObject {
  facet() {
    return this.ctx.facets.get<Store>("child", () => ({ class: this.ctx.exports.Stores, id: "child" }));
  }

  async setUp(): Promise<void> {
    await this.ctx.storage.put("mine", "parent data");
    await this.facet().save("facet data");
  }

  wipeInBlockThatThrows(): void {
    this.ctx.storage.transactionSync(() => {
      void this.ctx.storage.deleteAll();
      throw new Error("changed my mind");
    });
  }

  async wipeThenThrow(): Promise<void> {
    await this.ctx.storage.deleteAll();
    throw new Error("boom");
  }

  async wipeThenUse(value: string): Promise<string | null> {
    const before = await this.facet().read();
    await this.ctx.storage.deleteAll();
    if (before === null) throw new Error("the facet had no data before the wipe");
    if ((await this.facet().read()) !== null) throw new Error("the facet kept its data through the wipe");
    await this.facet().save(value);
    return this.facet().read();
  }

  async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  async check(): Promise<{ parent: string | null; facet: string | null }> {
    return { parent: (await this.ctx.storage.get<string>("mine")) ?? null, facet: await this.facet().read() };
  }
}

let host: Host | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function parent() {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-wipe-facets-"));
  host = new Host({ dataDir, agents: {}, durableObjects: { Parents: Parent, Stores: Store } });
  const stub = (host.env.Parents as DurableObjectNamespace<Parent>).getByName("p");
  await stub.setUp();
  return stub;
}

describe("deleteAll() and facets", () => {
  it("keeps the facets' data when the wipe is rolled back by its transactionSync block", async () => {
    const stub = await parent();
    await expect(stub.wipeInBlockThatThrows()).rejects.toThrow("changed my mind");
    expect(await stub.check()).toEqual({ parent: "parent data", facet: "facet data" });
  });

  it("keeps the wipe when the event that wiped then fails: it committed at once, facets and all", async () => {
    const stub = await parent();
    await expect(stub.wipeThenThrow()).rejects.toThrow("boom");
    expect(await stub.check()).toEqual({ parent: null, facet: null });
  });

  it("gives a facet used after the wipe in the same event a fresh start, and keeps what it writes then", async () => {
    const stub = await parent();
    expect(await stub.wipeThenUse("after the wipe")).toBe("after the wipe");
    expect(await stub.check()).toEqual({ parent: null, facet: "after the wipe" });
  });

  it("deletes the facets' data once the wipe commits", async () => {
    const stub = await parent();
    await stub.wipe();
    expect(await stub.check()).toEqual({ parent: null, facet: null });
  });
});
