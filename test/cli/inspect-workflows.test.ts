import { describe, expect, it } from "vitest";
import { until } from "./helpers.ts";
import { inspectAppForFile, type InspectApp } from "./inspect-support.ts";

let app: InspectApp;
inspectAppForFile((started) => (app = started));

/** The instance's detail, once `ready` holds for it. */
async function workflowWhen(address: string, ready: (detail: any) => boolean, what: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let detail: unknown;
  await until(async () => {
    detail = (await app.inspect(["workflow", address])).json();
    return ready(detail);
  }, what);
  return detail;
}

describe("hearth inspect on workflows", { timeout: 180_000 }, () => {
  it("starts an instance and sends it the event its waitForEvent step waits for", async () => {
    expect((await app.inspect(["start-workflow", "Approval", '{"doc":"plan"}', "--id", "w1"])).json()).toEqual({ id: "w1" });
    const waiting = await workflowWhen("Approval/w1", (detail) => detail.status === "waiting", "w1 to wait for its event");
    expect(waiting.steps.at(-1)).toMatchObject({ name: "review", kind: "waitForEvent", waitingFor: "answer" });

    const sent = await app.inspect(["send-workflow-event", "Approval/w1", "answer", '{"ok":true}']);
    expect(sent.stderr).toBe("");
    expect(sent.json()).toEqual({ status: expect.any(String) });
    const done = await workflowWhen("Approval/w1", (detail) => detail.status === "complete", "w1 to complete");
    expect(done.output).toBe("checked plan: approved");

    const taken = await app.inspect(["start-workflow", "Approval", '{"doc":"again"}', "--id", "w1"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^hearth inspect: 409 workflow_state: .*w1/);
  });

  it("pauses, resumes, terminates and restarts an instance", async () => {
    expect((await app.inspect(["start-workflow", "Approval", '{"doc":"memo"}', "--id", "w2"])).json()).toEqual({ id: "w2" });
    await workflowWhen("Approval/w2", (detail) => detail.status === "waiting", "w2 to wait for its event");
    expect((await app.inspect(["pause-workflow", "Approval/w2"])).json()).toEqual({ status: "paused" });
    expect((await app.inspect(["resume-workflow", "Approval/w2"])).json().status).not.toBe("paused");
    expect((await app.inspect(["terminate-workflow", "Approval/w2"])).json()).toEqual({ status: "terminated" });
    expect((await app.inspect(["restart-workflow", "Approval/w2"])).json().status).not.toBe("terminated");
    const restarted = await workflowWhen("Approval/w2", (detail) => detail.status === "waiting", "w2 to run again and wait");
    expect(restarted.params).toEqual({ doc: "memo" });
    const actions = ((await app.inspect(["audit", "--limit", "4"])).json().items as Array<{ action: string }>).map((row) => row.action);
    expect(actions).toEqual(["workflow.restart", "workflow.terminate", "workflow.resume", "workflow.pause"]);
  });
});
