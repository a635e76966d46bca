import { describe, expect, it } from "vitest";
import type { ActorHistory } from "../../src/cluster/log.ts";
import { Ownership, type OwnershipStore } from "../../src/cluster/ownership.ts";

/** A store of one node, `a`, whose validity the test sets; it counts claims. */
function store(): OwnershipStore & { valid: boolean; claims: number; owner: string | undefined } {
  const state = {
    valid: true,
    nodeId: "a",
    claims: 0,
    owner: undefined as string | undefined,
    epoch: 0,
    async lookup() {
      return { owner: state.owner, address: state.owner === undefined ? undefined : "http://a", alive: true };
    },
    async claim() {
      state.claims++;
      state.owner = "a";
      state.epoch++;
      return { claimed: true as const, epoch: state.epoch, head: 0 };
    },
    async history(): Promise<ActorHistory> {
      return { changesets: [], head: 0 };
    },
  };
  return state;
}

describe("Ownership.route of an actor this node holds", () => {
  it("asked while the node's validity lapsed for a moment: answers here once valid again, without claiming it anew", async () => {
    const lease = store();
    const restored: string[] = [];
    const ownership = new Ownership({ store: lease, restore: (actorId) => restored.push(actorId) });
    expect(await ownership.route("counter/a")).toEqual({ here: true });
    expect(lease.claims).toBe(1);
    expect(ownership.held("counter/a")?.epoch).toBe(1);

    // A late heartbeat: invalid by the node's own clock, the agent still held (nothing was lost).
    lease.valid = false;
    const route = ownership.route("counter/a");
    // The renewal lands: valid again while the route waits for it.
    lease.valid = true;
    expect(await route).toEqual({ here: true });
    expect(lease.claims, "claims").toBe(1);
    expect(restored, "local files rebuilt").toEqual(["counter/a"]);
    expect(ownership.held("counter/a")?.epoch).toBe(1);
  });
});

/** A store of node `a` where node `b` holds every actor until the test says it died. */
function heldByB(): OwnershipStore & { lookups: number; bAlive: boolean } {
  const state = {
    valid: true,
    nodeId: "a",
    lookups: 0,
    bAlive: true,
    async lookup() {
      state.lookups++;
      return { owner: "b", address: "http://b", alive: state.bAlive };
    },
    async claim() {
      return state.bAlive ? { claimed: false as const, owner: "b", address: "http://b" } : { claimed: true as const, epoch: 2, head: 0 };
    },
    async history(): Promise<ActorHistory> {
      return { changesets: [], head: 0 };
    },
  };
  return state;
}

describe("Ownership.route of an actor held elsewhere", () => {
  it("looks the lease up again once the look is older than rememberOwnersForMs: a dead owner's actor is claimed", async () => {
    const lease = heldByB();
    const ownership = new Ownership({ store: lease, restore: () => undefined, rememberOwnersForMs: 20 });
    expect(await ownership.route("counter/a")).toEqual({ here: false, nodeId: "b", address: "http://b" });
    // Node b dies without a request to it failing (nothing here learns it from a forward).
    lease.bAlive = false;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await ownership.route("counter/a")).toEqual({ here: true });
    expect(lease.lookups).toBe(2);
    expect(ownership.held("counter/a")?.epoch).toBe(2);
  });

  it("refuses a negative rememberOwnersForMs", () => {
    expect(() => new Ownership({ store: heldByB(), restore: () => undefined, rememberOwnersForMs: -1 })).toThrow(RangeError);
  });
});
