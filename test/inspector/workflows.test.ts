import { afterEach, describe, expect, it } from "vitest";
import { startFixture, until, type Fixture } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe("inspector workflows API", () => {
  it("starts an instance, shows its steps (a waiting one with the event type it waits for), sends it that event and sees it complete", async () => {
    const f = (fixture = await startFixture());
    const viewer = await f.api("/api/workflows/Approval", { method: "POST", body: { id: "doc-1", params: { doc: "plan" } } });
    expect(viewer.status).toBe(403);
    const started = await f.api("/api/workflows/Approval", { method: "POST", as: "admin", body: { id: "doc-1", params: { doc: "plan" } } });
    expect(started.status).toBe(201);
    expect(started.json()).toEqual({ id: "doc-1" });
    const waiting = await until(async () => {
      const detail = (await f.api("/api/workflows/Approval/doc-1")).json();
      return detail.status === "waiting" ? detail : undefined;
    }, "the instance to wait for its event");
    expect(waiting).toMatchObject({ workflow: "Approval", id: "doc-1", params: { doc: "plan" } });
    expect(waiting.steps).toEqual([
      { name: "check", kind: "do", status: "done", attempts: 1, startedAt: expect.any(Number), endedAt: expect.any(Number), output: "checked plan" },
      expect.objectContaining({ name: "review", kind: "waitForEvent", status: "waiting", waitingFor: "answer", startedAt: expect.any(Number), endedAt: null }),
    ]);
    const [check, review] = waiting.steps as Array<{ startedAt: number; endedAt: number }>;
    expect(check!.endedAt).toBeGreaterThanOrEqual(check!.startedAt);
    expect(review!.startedAt).toBeGreaterThanOrEqual(check!.endedAt);
    const list = (await f.api("/api/workflows?workflow=Approval&status=waiting")).json();
    expect(list.items).toEqual([expect.objectContaining({ workflow: "Approval", id: "doc-1", status: "waiting" })]);
    expect((await f.api("/api/workflows?status=complete")).json().items).toEqual([]);
    await f.t.clock.advance("1 minute"); // the wait lasts a minute: its times show it
    await f.api("/api/workflows/Approval/doc-1/event", { method: "POST", as: "admin", body: { type: "answer", payload: { ok: true } } });
    const done = await until(async () => {
      const detail = (await f.api("/api/workflows/Approval/doc-1")).json();
      return detail.status === "complete" ? detail : undefined;
    }, "the instance to complete");
    expect(done.output).toBe("checked plan: approved");
    expect(done.steps[1]).toMatchObject({ name: "review", status: "done", startedAt: review!.startedAt });
    expect(done.steps[1].endedAt - review!.startedAt).toBeGreaterThanOrEqual(60_000);
    const actions = (await f.api("/api/audit")).json().items.map((entry: { action: string; target: string }) => `${entry.action} ${entry.target}`);
    expect(actions).toEqual(["workflow.event Approval/doc-1", "workflow.start Approval"]);
  });

  it("pauses, resumes, terminates and restarts an instance", async () => {
    const f = (fixture = await startFixture());
    await f.api("/api/workflows/Approval", { method: "POST", as: "admin", body: { id: "doc-2", params: { doc: "x" } } });
    await until(async () => ((await f.api("/api/workflows/Approval/doc-2")).json().status === "waiting" ? true : undefined), "waiting");
    const paused = await f.api("/api/workflows/Approval/doc-2/pause", { method: "POST", as: "admin" });
    expect(paused.json()).toEqual({ status: "paused" });
    const resumed = (await f.api("/api/workflows/Approval/doc-2/resume", { method: "POST", as: "admin" })).json();
    expect(["running", "waiting", "queued"]).toContain(resumed.status);
    expect((await f.api("/api/workflows/Approval/doc-2/terminate", { method: "POST", as: "admin" })).json()).toEqual({ status: "terminated" });
    const restarted = (await f.api("/api/workflows/Approval/doc-2/restart", { method: "POST", as: "admin" })).json();
    expect(["running", "waiting", "queued"]).toContain(restarted.status);
  });

  it("answers 404 for an unknown workflow or instance and 409 for a refused change", async () => {
    const f = (fixture = await startFixture());
    expect((await f.api("/api/workflows/Nope", { method: "POST", as: "admin", body: {} })).json().error.message).toBe('No workflow binding "Nope"');
    const missing = await f.api("/api/workflows/Approval/nope");
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe('Approval has no instance "nope"');
    await f.api("/api/workflows/Approval", { method: "POST", as: "admin", body: { id: "dup", params: { doc: "x" } } });
    const again = await f.api("/api/workflows/Approval", { method: "POST", as: "admin", body: { id: "dup", params: { doc: "x" } } });
    expect(again.status).toBe(409);
    expect(again.json().error.code).toBe("workflow_state");
  });
});
