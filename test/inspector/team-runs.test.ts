/**
 * Team runs in the inspector with a real team on the offline demo model: the run index fed by the
 * runs' channel (and by visits, for runs older than the inspector), the step timeline, and the
 * controls (start, approve, reject, pause, resume, cancel), each audited.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDemoModel } from "../../src/chat/index.ts";
import { Agent } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { approval, fnMember, modelMember, pipeline, team, teamRun } from "../../src/teams/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { raw, until, type RawResponse } from "./fixture.ts";

const model = createDemoModel({ wordDelayMs: 0 });
const gates: Array<() => void> = [];

const review = team("i-review", pipeline(modelMember("writer", { model }), approval("Publish?"), fnMember("publish", (text: unknown) => `published: ${String(text)}`)));
/** Started only through the API, by name. */
team(
  "i-gated",
  fnMember("gate", (_input: unknown, context) => new Promise<string>((resolve, reject) => {
    gates.push(() => resolve("opened"));
    context.signal.addEventListener("abort", () => reject(new Error("aborted")));
  })),
);

class Desk extends Agent {
  async review(topic: string): Promise<string> {
    return (await review.start(this, `Write one line about ${topic}`)).id;
  }
  hello(): string {
    return "hello";
  }
  status(id: string): string {
    return teamRun(this, id).record().status;
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

type Api = (path: string, init?: { method?: string; body?: unknown; admin?: boolean }) => Promise<RawResponse>;

async function startInspectorOn(env: TestEnv): Promise<Api> {
  inspector = await startInspector({ host: env.host, env: {} });
  const handle = inspector;
  return (path, init = {}) => raw(new URL(path, handle.url).toString(), { ...init, headers: { authorization: `Bearer ${init.admin ? handle.adminToken : handle.token}` } });
}

async function environment(): Promise<TestEnv> {
  t = await createTestEnv({ agents: { Desk }, time: "system" });
  return t;
}

function desk(env: TestEnv): Desk {
  return env.get<Desk>("Desk", "d") as unknown as Desk;
}

async function indexed(api: Api, runId: string, status: string) {
  return until(async () => {
    const item = ((await api("/api/team-runs")).json().items as Array<{ runId: string; status: string; tokens: number; endedAt: number | null }>).find((run) => run.runId === runId);
    return item?.status === status ? item : undefined;
  }, `run ${runId} to be ${status} in the index`);
}

describe("inspector: team runs across agents", () => {
  it("indexes runs from their reports, shows the step timeline, and approves a waiting run", async () => {
    const env = await environment();
    const api = await startInspectorOn(env);
    const runId = await desk(env).review("tea");
    const waiting = await indexed(api, runId, "waiting");
    expect(waiting).toMatchObject({ class: "Desk", name: "d", sub: "", team: "i-review", endedAt: null, startedAt: expect.any(Number) });
    expect(waiting.tokens).toBeGreaterThan(0);
    expect((await api("/api/overview")).json().teamRuns).toEqual({ running: 0, waiting: 1, paused: 0 });
    expect((await api("/api/team-runs?class=Desk&status=waiting")).json().items).toHaveLength(1);
    expect((await api("/api/team-runs?class=Other")).json().items).toEqual([]);
    const bad = await api("/api/team-runs?status=sleeping");
    expect(bad.status).toBe(400);
    expect(bad.json().error.message).toBe('status must be one of running, waiting, paused, completed, failed, cancelled; got "sleeping"');

    const detail = (await api(`/api/team-runs/Desk/d/${runId}`)).json();
    expect(detail).toMatchObject({ runId, team: "i-review", status: "waiting", approvals: [{ prompt: "Publish?", kind: "step" }] });
    const writer = detail.steps.find((step: { member: string | null }) => step.member === "writer");
    expect(writer).toMatchObject({ status: "done", startedAt: expect.any(Number), endedAt: expect.any(Number) });
    expect(writer.tokens).toBeGreaterThan(0);
    const pending = detail.steps.find((step: { status: string }) => step.status === "waiting");
    expect(pending).toMatchObject({ node: "approval:step", endedAt: null });

    const path = detail.approvals[0].path as string;
    expect((await api(`/api/team-runs/Desk/d/${runId}/approve`, { method: "POST", body: { path } })).status).toBe(403);
    const wrong = await api(`/api/team-runs/Desk/d/${runId}/reject`, { method: "POST", admin: true, body: { path: "nowhere" } });
    expect(wrong.status).toBe(409);
    expect(wrong.json().error).toEqual({ code: "team_run_state", message: `Team run ${runId} waits for no approval at "nowhere"` });
    const noPath = await api(`/api/team-runs/Desk/d/${runId}/approve`, { method: "POST", admin: true, body: {} });
    expect(noPath.json().error.message).toBe("The body must be { path: string, value? } (path: one of the run's approvals)");
    const approved = await api(`/api/team-runs/Desk/d/${runId}/approve`, { method: "POST", admin: true, body: { path } });
    expect(approved.status).toBe(200);
    const done = await indexed(api, runId, "completed");
    expect(done.endedAt).toEqual(expect.any(Number));
    expect((await api(`/api/team-runs/Desk/d/${runId}`)).json().output).toMatch(/^published: /);
    const audit = (await api("/api/audit")).json().items.map((row: { action: string; target: string }) => [row.action, row.target]);
    expect(audit).toContainEqual(["team-run.approve", `Desk/d/${runId}`]);
    expect(audit).toContainEqual(["team-run.reject", `Desk/d/${runId}`]);
  });

  it("finds a run that started before the inspector when its owner is visited", async () => {
    const env = await environment();
    const runId = await desk(env).review("coffee");
    await until(async () => ((await desk(env).status(runId)) === "waiting" ? true : undefined), "the run to wait");
    const api = await startInspectorOn(env);
    expect((await api("/api/team-runs")).json().items).toEqual([]);
    const own = (await api("/api/agents/Desk/d/team-runs")).json();
    expect(own.items).toMatchObject([{ runId, status: "waiting", team: "i-review" }]);
    expect((await api("/api/team-runs")).json().items).toMatchObject([{ class: "Desk", name: "d", runId, status: "waiting" }]);
    expect((await api("/api/overview")).json().teamRuns.waiting).toBe(1);
  });

  it("starts, pauses, resumes and cancels a run through the API", async () => {
    const env = await environment();
    const api = await startInspectorOn(env);
    await desk(env).hello(); // the agent exists
    const started = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-gated", input: "go", runId: "run-1" } });
    expect(started.status).toBe(201);
    expect(started.json()).toEqual({ runId: "run-1" });
    await indexed(api, "run-1", "running");
    await until(() => (gates.length === 1 ? true : undefined), "the gate to be reached");

    const pause = await api("/api/team-runs/Desk/d/run-1/pause", { method: "POST", admin: true, body: { reason: "lunch" } });
    expect(pause.status).toBe(200);
    await indexed(api, "run-1", "paused");
    expect((await api("/api/overview")).json().teamRuns.paused).toBe(1);
    const pauseAgain = await api("/api/team-runs/Desk/d/run-1/pause", { method: "POST", admin: true });
    expect(pauseAgain.status).toBe(409);
    expect(pauseAgain.json().error.message).toBe("Team run run-1 is paused: only a running run can be paused");

    expect((await api("/api/team-runs/Desk/d/run-1/resume", { method: "POST", admin: true })).status).toBe(200);
    await indexed(api, "run-1", "running");
    await until(() => (gates.length === 2 ? true : undefined), "the gate to be reached again");

    const cancel = await api("/api/team-runs/Desk/d/run-1/cancel", { method: "POST", admin: true, body: { reason: "no longer needed" } });
    expect(cancel.json()).toEqual({ status: "cancelled" });
    await indexed(api, "run-1", "cancelled");
    const again = await api("/api/team-runs/Desk/d/run-1/cancel", { method: "POST", admin: true });
    expect(again.status).toBe(409);
    expect(again.json().error.message).toBe("Team run run-1 is cancelled: only a running or waiting or paused run can be cancelled");
    const resumeEnded = await api("/api/team-runs/Desk/d/run-1/resume", { method: "POST", admin: true });
    expect(resumeEnded.json().error.message).toBe("Team run run-1 is cancelled: only a paused or waiting run can be resumed");

    const actions = (await api("/api/audit")).json().items.map((row: { action: string }) => row.action);
    expect(actions).toEqual(expect.arrayContaining(["team-run.start", "team-run.pause", "team-run.resume", "team-run.cancel"]));
  });

  it("starts a run on an agent whose first look at a run failed (its journal's tables were rolled back)", async () => {
    const env = await environment();
    const api = await startInspectorOn(env);
    await expect(desk(env).status("none")).rejects.toThrow("No team run none on this agent");
    const started = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-gated", runId: "after-failure" } });
    expect(started.status).toBe(201);
    await indexed(api, "after-failure", "running");
  });

  it("refuses what the teams API cannot do, with clear messages", async () => {
    const env = await environment();
    const api = await startInspectorOn(env);
    await desk(env).review("water");
    const unknown = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "nope" } });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.message).toBe("Team nope is not defined in this process: import the module that defines it");
    const noTeam = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: {} });
    expect(noTeam.json().error.message).toBe("The body must be { team: string, input?, runId?: string }");
    const badRunId = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-gated", runId: 7 } });
    expect(badRunId.json().error.message).toBe("runId must be a string");
    const taken = await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-gated", runId: ((await api("/api/agents/Desk/d/team-runs")).json().items[0].runId) } });
    expect(taken.status).toBe(400);
    expect(taken.json().error.message).toMatch(/exists already and belongs to team i-review, not i-gated$/);
    const missing = await api("/api/team-runs/Desk/d/ghost/cancel", { method: "POST", admin: true });
    expect(missing.status).toBe(404);
    expect(missing.json().error.message).toBe('Desk/d has no team run "ghost"');
    expect((await api("/api/team-runs/Desk/d/ghost")).json().error.message).toBe('Desk/d has no team run "ghost"');
    const badReason = await api("/api/team-runs/Desk/d/ghost/pause", { method: "POST", admin: true, body: { reason: 1 } });
    expect(badReason.json().error.message).toBe("reason must be a string");
  });
});
