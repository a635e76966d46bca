/**
 * The audit rows of team-run actions name the run's owner by its whole path: a run owned by a
 * sub-agent is audited under `Class/name/SubClass/subName/runId`, not under its parent's name.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { fnMember, team } from "../../src/teams/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { raw, until } from "./fixture.ts";

const gates: Array<() => void> = [];
/** Waits for its gate, or ends when cancelled. */
team(
  "audit-gated",
  fnMember("gate", (_input: unknown, context) => new Promise<string>((resolve, reject) => {
    gates.push(() => resolve("opened"));
    context.signal.addEventListener("abort", () => reject(new Error("aborted")));
  })),
);

class Room extends Agent {}

class Office extends Agent {
  async room(name: string): Promise<void> {
    await this.subAgent(Room, name);
  }
}

let t: TestEnv | undefined;
let inspector: InspectorHandle | undefined;
afterEach(async () => {
  await inspector?.close();
  await t?.close();
  inspector = undefined;
  t = undefined;
  gates.length = 0;
});

describe("inspector: audit rows of a sub-agent's team runs", () => {
  it("name the sub-agent owner's whole path for start, pause, resume, cancel and restart", async () => {
    t = await createTestEnv({ agents: { Office }, host: { exportedClasses: { Room } }, time: "system" });
    inspector = await startInspector({ host: t.host, env: {} });
    const handle = inspector;
    const admin = (path: string, body: unknown = {}) =>
      raw(new URL(path, handle.url).toString(), { method: "POST", body, headers: { authorization: `Bearer ${handle.adminToken}` } });
    await t.get<Office>("Office", "hq").room("a/b");
    // The sub path's parts are URL-encoded (a name may hold a slash), and the whole path again as a query value.
    const sub = `?sub=${encodeURIComponent(`Room/${encodeURIComponent("a/b")}`)}`;

    expect((await admin(`/api/team-runs/Office/hq${sub}`, { team: "audit-gated", runId: "gated" })).status).toBe(201);
    await until(() => (gates.length === 1 ? true : undefined), "the gate to be reached");
    expect((await admin(`/api/team-runs/Office/hq/gated/pause${sub}`)).status).toBe(200);
    expect((await admin(`/api/team-runs/Office/hq/gated/resume${sub}`)).status).toBe(200);
    expect((await admin(`/api/team-runs/Office/hq/gated/cancel${sub}`)).status).toBe(200);
    expect((await admin(`/api/team-runs/Office/hq/gated/restart${sub}`, { runId: "again" })).status).toBe(201);

    const audit = await raw(new URL("/api/audit", handle.url).toString(), { headers: { authorization: `Bearer ${handle.token}` } });
    const rows = (audit.json().items as Array<{ action: string; target: string }>).map((row) => `${row.action} ${row.target}`).reverse();
    expect(rows).toEqual([
      "team-run.start Office/hq/Room/a/b",
      "team-run.pause Office/hq/Room/a/b/gated",
      "team-run.resume Office/hq/Room/a/b/gated",
      "team-run.cancel Office/hq/Room/a/b/gated",
      "team-run.restart Office/hq/Room/a/b/gated",
    ]);
  });
});
