/**
 * A facet cloned with an alarm set: the copy's alarm fires on its own, as the source's does, without
 * anything waking the copy first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, type DurableObjectNamespace } from "../../src/index.ts";

const fired: string[] = [];

class Store extends DurableObject {
  async remind(ms: number): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + ms);
  }
  alarm(): void {
    fired.push(this.ctx.id.toString());
  }
}

class Parent extends DurableObject {
  #facet(name: string): { remind(ms: number): Promise<void> } {
    const ctx = this.ctx as unknown as { facets: { get(name: string, start: () => unknown): unknown }; exports: Record<string, unknown> };
    return ctx.facets.get(name, () => ({ class: ctx.exports.Stores, id: name })) as { remind(ms: number): Promise<void> };
  }
  async setUp(): Promise<void> {
    await this.#facet("src").remind(200);
    (this.ctx as unknown as { facets: { clone(from: string, to: string): void } }).facets.clone("src", "dst");
  }
}

const dirs: string[] = [];
afterEach(() => {
  fired.length = 0;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("a cloned facet's alarm", () => {
  it("fires without the copy being woken", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-facet-clone-alarm-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: {}, durableObjects: { Parents: Parent, Stores: Store } } as never);
    try {
      await (host.env.Parents as DurableObjectNamespace<Parent>).getByName("p").setUp();
      for (let i = 0; i < 500 && fired.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50)); // nothing fires twice
      expect(fired).toHaveLength(2); // the source's alarm and the copy's
    } finally {
      await host.close();
    }
  });
});
