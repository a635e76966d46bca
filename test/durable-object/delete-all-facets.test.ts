/**
 * `deleteAll()` takes the object's facets with it, but only once the wipe is committed: a wipe that is
 * rolled back (a transactionSync block that throws, an event that fails) leaves the facets' files.
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

  it("keeps the facets' data when the event that wiped fails (its writes are rolled back)", async () => {
    const stub = await parent();
    await expect(stub.wipeThenThrow()).rejects.toThrow("boom");
    expect(await stub.check()).toEqual({ parent: "parent data", facet: "facet data" });
  });

  it("deletes the facets' data once the wipe commits", async () => {
    const stub = await parent();
    await stub.wipe();
    expect(await stub.check()).toEqual({ parent: null, facet: null });
  });
});
