// The approval workflow on virtual time: "a week later" takes milliseconds.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { Desk, Outreach, type OutreachItem } from "./src/index.ts";

let t: TestEnv;
beforeEach(async () => {
  t = await createTestEnv({
    agents: { Desk },
    workflows: { Outreach },
    vars: { DEMO_DELAY_MS: "0" }, // no pauses for effect in tests
    start: new Date("2030-03-04T09:00:00Z"),
  });
});
afterEach(() => t.close());

/** Starts an outreach and lets it run until it waits for approval. */
async function drafted(desk = t.get<Desk>("Desk", "sales"), prospect = "Ada Lovelace"): Promise<OutreachItem> {
  const id = await desk.start(prospect);
  await t.clock.settle();
  const [item] = await desk.list();
  expect(item).toMatchObject({ id, prospect, status: "waiting", phase: "awaiting approval", decision: null, sentAt: null });
  return item!;
}

describe("the outreach desk", () => {
  it("researches, drafts, waits for approval, then sends", async () => {
    const client = await t.connect("Desk", "sales");
    const frames: Array<{ type: string; progress?: { step: string } }> = [];
    client.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as { type: string };
      if (frame.type.startsWith("workflow_")) frames.push(frame);
    });
    const desk = t.get<Desk>("Desk", "sales");

    const item = await drafted(desk);
    expect(item.id).toMatch(/^ada-lovelace-[0-9a-f]{8}$/);
    expect(item.progress).toEqual({ step: "approval", message: "Waiting for approval (up to 7 days)" });
    expect(item.draft?.to).toMatch(/^ada@[a-z-]+\.example$/);
    expect(item.draft?.body).toMatch(/^Hi Ada,/);

    await desk.approve(item.id);
    await t.clock.settle();
    const [done] = await desk.list();
    expect(done).toMatchObject({
      status: "complete",
      phase: "sent",
      decision: "approved",
      sentAt: "2030-03-04T09:00:00.000Z",
      progress: { step: "sent", message: `Sent to ${item.draft!.to}` },
      output: { prospect: "Ada Lovelace", to: item.draft!.to, subject: item.draft!.subject, sentAt: "2030-03-04T09:00:00.000Z" },
      error: null,
    });

    await expect.poll(() => frames.at(-1)?.type).toBe("workflow_complete"); // frames cross a real socket
    expect(frames.map((frame) => frame.progress?.step ?? frame.type)).toEqual([
      "research",
      "draft",
      "approval",
      "send",
      "sent",
      "workflow_complete",
    ]);
  });

  it("ends a rejected outreach with a WorkflowRejectedError and sends nothing", async () => {
    const desk = t.get<Desk>("Desk", "sales");
    const { id } = await drafted(desk);
    await desk.reject(id, "  too pushy  ");
    await t.clock.settle();
    const [item] = await desk.list();
    expect(item).toMatchObject({
      status: "errored",
      phase: "rejected",
      decision: "rejected",
      reason: "too pushy",
      sentAt: null,
      error: { name: "WorkflowRejectedError", message: "Workflow rejected: too pushy" },
    });
  });

  it("times out when nobody answers for 7 days", async () => {
    const desk = t.get<Desk>("Desk", "sales");
    const { id } = await drafted(desk);
    await t.clock.advance("6 days 23 hours");
    expect((await desk.list())[0]).toMatchObject({ status: "waiting", phase: "awaiting approval" });
    await t.clock.advance("1 hour");
    expect((await desk.list())[0]).toMatchObject({
      status: "errored",
      phase: "timed out",
      sentAt: null,
      error: { name: "WorkflowTimeoutError" },
    });
    // Too late to approve now; the refusal leaves no decision behind.
    await expect(desk.approve(id)).rejects.toThrow(/it is errored/);
    expect((await desk.list())[0]?.decision).toBeNull();
  });

  it("takes an approval given after a restart", async () => {
    const { id, draft } = await drafted();
    await t.restart({ downFor: "2 days" }); // the server is down while the instance waits
    const desk = t.get<Desk>("Desk", "sales");
    expect((await desk.list())[0]).toMatchObject({ id, status: "waiting", phase: "awaiting approval", draft });
    await desk.approve(id);
    await t.clock.settle();
    expect((await desk.list())[0]).toMatchObject({ id, status: "complete", phase: "sent", sentAt: "2030-03-06T09:00:00.000Z" });
  });

  it("refuses decisions that make no sense, and keeps desks apart", async () => {
    const desk = t.get<Desk>("Desk", "sales");
    await expect(desk.start("   ")).rejects.toThrow(/prospect's name/);
    const { id } = await drafted(desk, "Grace Hopper");
    await desk.approve(id);
    await expect(desk.approve(id)).rejects.toThrow(/already approved/);
    await expect(desk.reject(id, "changed my mind")).rejects.toThrow(/already approved/);
    await expect(desk.approve("nope")).rejects.toThrow(/No outreach "nope"/);
    await t.clock.settle();
    expect((await desk.list()).map((item) => item.phase)).toEqual(["sent"]);
    // Another desk neither sees nor decides this desk's outreach.
    const other = t.get<Desk>("Desk", "support");
    expect(await other.list()).toEqual([]);
    await expect(other.reject(id)).rejects.toThrow(/No outreach/);
  });

  it("lists newest first, with deterministic demo research", async () => {
    const desk = t.get<Desk>("Desk", "sales");
    await drafted(desk, "Ada Lovelace");
    await t.clock.advance("1 minute");
    await drafted(desk, "Ada Lovelace");
    const [newer, older] = await desk.list();
    expect(newer!.createdAt > older!.createdAt).toBe(true);
    expect(newer!.draft).toEqual(older!.draft);
  });
});
