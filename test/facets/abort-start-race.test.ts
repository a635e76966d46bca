/**
 * A code update: `abort` while a facet's async startup callback still runs, then a fresh `get()`.
 * The old stub's call fails with the abort's reason; the new stub's call starts the facet again with
 * its own callback, instead of failing with the old start's reason.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, type DurableObjectNamespace } from "../../src/index.ts";

class Store extends DurableObject {
  version(): string {
    return "v2";
  }
}

class Parent extends DurableObject {
  async update(): Promise<string[]> {
    const exports = (this.ctx as unknown as { exports: Record<string, unknown> }).exports;
    const facets = (this.ctx as unknown as { facets: { get(name: string, start: () => unknown): Record<string, () => Promise<string>>; abort(name: string, reason: unknown): void } }).facets;
    let loaded!: () => void;
    const loading = new Promise<void>((resolve) => (loaded = resolve));
    const old = facets.get("app", async () => {
      await loading; // loads the code to run, say
      return { class: exports.Stores };
    });
    const first = old.version!().then((v) => `old stub: ${v}`, (e: Error) => `old stub: rejected (${e.message})`);
    await new Promise((resolve) => setImmediate(resolve));
    facets.abort("app", new Error("updating"));
    const fresh = facets.get("app", () => ({ class: exports.Stores }));
    const second = fresh.version!().then((v) => `new stub: ${v}`, (e: Error) => `new stub: rejected (${e.message})`);
    loaded();
    return [await first, await second];
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("abort, then get() again, while the old start is still loading", () => {
  it("fails the old stub's call with the reason and serves the new stub's", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-facet-race-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: {}, durableObjects: { Parents: Parent, Stores: Store } } as never);
    try {
      const parents = host.env.Parents as DurableObjectNamespace<Parent>;
      expect(await parents.getByName("p").update()).toEqual(["old stub: rejected (updating)", "new stub: v2"]);
    } finally {
      await host.close();
    }
  });
});
