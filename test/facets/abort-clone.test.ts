/**
 * `abort` while a call runs (it fails with the reason, the data stays, `get` restarts the facet, with
 * new code if asked) and `clone` while the source runs and has facets of its own (the copy has the
 * source's committed data and its facets' data, opens under its own identity, and its facets work).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { events, gate } from "./fixtures/tenants.ts";
import { filesUnder, rejection, startFacetHarness, supervisorOf, supervisorsDir, until } from "./support.ts";

// `events` is shared by every file using the tenants fixture (and one worker runs many files).
beforeEach(() => {
  events.length = 0;
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  events.length = 0;
});

describe("ctx.facets.abort while a call runs", () => {
  it("fails the running call with the reason, keeps the data, and restarts on the next call", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "add", ["kept"]);
    const held = gate("a1");
    const running = rejection(sup.call("acme", "hold", ["during", "a1"]));
    await held.reached;
    await sup.suspend("acme", "suspended by the operator");
    expect(await running).toBe("suspended by the operator");
    held.open();
    await until(() => events.length > 0, "the aborted instance's next write");
    expect(events[0]).toMatch(/^write after gate: /); // its storage was closed under it

    // Written before the call awaited (committed then), kept; nothing after the abort.
    expect(await sup.call("acme", "notes")).toEqual(["kept", "during"]);
    expect(await sup.call("acme", "add", ["after restart"])).toBe(3);
  });

  it("fails calls queued behind a running one, and restarts with the class the next get names", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    const held = gate("a2");
    const running = rejection(sup.call("acme", "holdExclusive", ["v1", "a2"]));
    await held.reached;
    const queued = sup.callMany([
      { name: "acme", method: "add", args: ["queued"] },
      { name: "acme", method: "notes", args: [] },
    ]);
    await sup.suspend("acme", "code update");
    expect(await running).toBe("code update");
    expect(await queued).toEqual([
      { ok: false, value: "code update" },
      { ok: false, value: "code update" },
    ]);
    held.open();
    expect(await sup.callAs("acme", "TenantsV2", "version")).toBe(2);
    expect(await sup.callAs("acme", "TenantsV2", "notes")).toEqual(["v1"]);
  });

  it("stops the facet's own facets with it; their data stays too", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("acme", "childAdd", ["kid", "nested"]);
    const live = harness.host.stats.liveAgents;
    await sup.suspend("acme", "paused");
    expect(harness.host.stats.liveAgents).toBe(live - 2);
    expect(await sup.call("acme", "childNotes", ["kid"])).toEqual(["nested"]);
  });
});

describe("ctx.facets.clone while the source runs", () => {
  it("copies the source's committed data and its facets; the copy opens as itself and its facets work", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("tpl", "add", ["t1"]);
    await sup.call("tpl", "childAdd", ["g1", "g1-a"]);
    await sup.call("tpl", "childAdd", ["g2", "g2-a"]);
    harness.host.hibernateIdleAgents();
    // The source and one of its facets run; the other facet sleeps (its name is read from its file).
    await sup.call("tpl", "childNotes", ["g1"]);
    const held = gate("c1");
    const running = sup.call("tpl", "hold", ["t2", "c1"]);
    await held.reached;

    await sup.copy("tpl", "copy");
    held.open();
    expect(await running).toBe("finished"); // cloning does not stop the source

    expect(await sup.call("tpl", "notes")).toEqual(["t1", "t2", "t2-after"]);
    expect(await sup.call("copy", "notes")).toEqual(["t1", "t2"]);
    expect(await sup.call("copy", "idName")).toBe("copy");
    expect(await sup.call("copy", "childNotes", ["g1"])).toEqual(["g1-a"]);
    expect(await sup.call("copy", "childNotes", ["g2"])).toEqual(["g2-a"]);
    expect(await sup.call("copy", "childIdName", ["g2"])).toBe("g2");

    // The copies are files of their own: writes to one side do not show on the other.
    await sup.call("copy", "childAdd", ["g1", "copy's"]);
    await sup.call("tpl", "childAdd", ["g2", "source's"]);
    harness.host.hibernateIdleAgents(); // reopened from their files below: identities checked on open
    expect(await sup.call("copy", "childNotes", ["g1"])).toEqual(["g1-a", "copy's"]);
    expect(await sup.call("tpl", "childNotes", ["g1"])).toEqual(["g1-a"]);
    expect(await sup.call("copy", "childNotes", ["g2"])).toEqual(["g2-a"]);
    expect(await sup.call("tpl", "childNotes", ["g2"])).toEqual(["g2-a", "source's"]);
    const files = filesUnder(supervisorsDir(harness.dataDir)).filter((file) => file.endsWith(".sqlite"));
    expect(files.filter((file) => /\/copy-[0-9a-f]{32}\.facets\/g[12]-[0-9a-f]{32}\.sqlite$/.test(file))).toHaveLength(2);
  });

  it("aborts a running destination with \"Facet was cloned-over.\" and replaces its data and facets", async () => {
    harness = await startFacetHarness();
    const sup = supervisorOf(harness.host);
    await sup.call("tpl", "add", ["template"]);
    await sup.call("dst", "childAdd", ["old-kid", "old"]);
    const held = gate("c2");
    const running = rejection(sup.call("dst", "hold", ["doomed", "c2"]));
    await held.reached;
    await sup.copy("tpl", "dst");
    expect(await running).toBe("Facet was cloned-over.");
    held.open();
    expect(await sup.call("dst", "notes")).toEqual(["template"]);
    expect(await sup.call("dst", "childNotes", ["old-kid"])).toEqual([]);
    // A source with no data leaves an empty destination; cloning onto itself only restarts it.
    await sup.copy("never-made", "dst");
    expect(await sup.call("dst", "notes")).toEqual([]);
    await sup.copy("tpl", "tpl");
    expect(await sup.call("tpl", "notes")).toEqual(["template"]);
  });
});
