/**
 * Team runs in the inspector with a real team on the offline demo model: the run index fed by the
 * runs' channel (and by visits, for runs older than the inspector), the step timeline with each
 * step's input and output, and the controls (start, approve, reject, pause, resume, cancel, restart),
 * each audited — through the API and through `hearth inspect`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDemoModel } from "../../src/chat/index.ts";
import { runInspectCommand } from "../../src/cli/inspect.ts";
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

/** Fails on its first call in a test, then answers: a failed run that a restart completes. */
let flakyCalls = 0;
team("i-flaky", fnMember("flaky", (input: { topic: string }) => {
  flakyCalls++;
  if (flakyCalls === 1) throw new Error("the first try fails");
  return `done: ${input.topic}`;
}));

class Desk extends Agent {
  /** A run as a journal from before step inputs were kept holds it (no inputs table). */
  seedOldRun(): void {
    this.ctx.storage.sql.exec(`CREATE TABLE _hearth_team_runs (
      id TEXT PRIMARY KEY, team TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
      run_key TEXT, conversation TEXT, parent TEXT, limits TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, elapsed_ms INTEGER NOT NULL DEFAULT 0)`);
    this.ctx.storage.sql.exec(`CREATE TABLE _hearth_team_steps (run_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, member TEXT, status TEXT NOT NULL,
      output TEXT, error TEXT, usage TEXT, at INTEGER NOT NULL, PRIMARY KEY (run_id, path)) WITHOUT ROWID`);
    this.ctx.storage.sql.exec(`CREATE TABLE _hearth_team_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, path TEXT, data TEXT, at INTEGER NOT NULL,
      PRIMARY KEY (run_id, seq)) WITHOUT ROWID`);
    this.ctx.storage.sql.exec(`INSERT INTO _hearth_team_runs (id, team, version, status, input, output, limits, created_at, updated_at)
      VALUES ('old-1', 'i-flaky', '1', 'completed', '{"topic":"old"}', '"done: old"', '{}', 1000, 2000)`);
    this.ctx.storage.sql.exec(`INSERT INTO _hearth_team_steps (run_id, path, kind, member, status, output, at) VALUES ('old-1', 'flaky', 'member', 'flaky', 'done', '"done: old"', 1500)`);
  }

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
  flakyCalls = 0;
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
    expect(writer).toMatchObject({ input: "Write one line about tea", inputState: "recorded", inputChars: JSON.stringify("Write one line about tea").length, output: expect.any(String) });
    const publish = detail.steps.find((step: { node: string }) => step.node === "approval:step");
    expect(publish).toMatchObject({ input: null, inputState: "not-recorded" });
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

  it("restarts an ended run with the same input, lands on a new run id, and refuses a run that has not ended", async () => {
    const env = await environment();
    const api = await startInspectorOn(env);
    await desk(env).hello();
    await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-flaky", input: { topic: "tea" }, runId: "flaky-1" } });
    const failed = await indexed(api, "flaky-1", "failed");
    expect(failed.endedAt).toEqual(expect.any(Number));
    const failedDetail = (await api("/api/team-runs/Desk/d/flaky-1")).json();
    expect(failedDetail.steps).toMatchObject([{ id: "", status: "failed", input: { topic: "tea" }, inputState: "recorded", error: { message: "the first try fails" } }]);

    expect((await api("/api/team-runs/Desk/d/flaky-1/restart", { method: "POST" })).status).toBe(403);
    const restarted = await api("/api/team-runs/Desk/d/flaky-1/restart", { method: "POST", admin: true });
    expect(restarted.status).toBe(201);
    const { runId, restartedFrom } = restarted.json() as { runId: string; restartedFrom: string };
    expect(restartedFrom).toBe("flaky-1");
    expect(runId).not.toBe("flaky-1");
    await indexed(api, runId, "completed");
    const detail = (await api(`/api/team-runs/Desk/d/${runId}`)).json();
    expect(detail).toMatchObject({ team: "i-flaky", input: { topic: "tea" }, output: "done: tea" });
    expect(detail.steps).toMatchObject([{ id: "", status: "done", input: { topic: "tea" }, output: "done: tea" }]);
    expect((await api("/api/team-runs/Desk/d/flaky-1")).json().status).toBe("failed");

    const named = await api("/api/team-runs/Desk/d/flaky-1/restart", { method: "POST", admin: true, body: { runId: "flaky-2" } });
    expect(named.json()).toEqual({ runId: "flaky-2", restartedFrom: "flaky-1" });
    const taken = await api("/api/team-runs/Desk/d/flaky-1/restart", { method: "POST", admin: true, body: { runId: "flaky-2" } });
    expect(taken.status).toBe(409);
    expect(taken.json().error.message).toBe("Team run flaky-2 exists already: a restart needs a new run id (or none, for a fresh one)");

    await api("/api/team-runs/Desk/d", { method: "POST", admin: true, body: { team: "i-gated", runId: "gated-1" } });
    await indexed(api, "gated-1", "running");
    const busy = await api("/api/team-runs/Desk/d/gated-1/restart", { method: "POST", admin: true });
    expect(busy.status).toBe(409);
    expect(busy.json().error).toEqual({ code: "team_run_state", message: "Team run gated-1 is running: only a completed or failed or cancelled run can be restarted (cancel it first to start it over)" });
    const ghost = await api("/api/team-runs/Desk/d/ghost/restart", { method: "POST", admin: true });
    expect(ghost.status).toBe(404);
    expect(ghost.json().error.message).toBe('Desk/d has no team run "ghost"');

    const audit = (await api("/api/audit")).json().items as Array<{ action: string; target: string; detail: Record<string, unknown> }>;
    const restarts = audit.filter((row) => row.action === "team-run.restart");
    expect(restarts.map((row) => row.target)).toEqual(expect.arrayContaining(["Desk/d/flaky-1", "Desk/d/gated-1", "Desk/d/ghost"]));
    expect(restarts.map((row) => row.detail)).toContainEqual({ runId: null, newRunId: runId, ok: true });
    expect(restarts.map((row) => row.detail)).toContainEqual(expect.objectContaining({ ok: false, error: busy.json().error.message }));
  });

  it("shows a step journaled before inputs were kept as not recorded", async () => {
    const env = await environment();
    await desk(env).seedOldRun();
    const api = await startInspectorOn(env);
    const detail = (await api("/api/team-runs/Desk/d/old-1")).json();
    expect(detail).toMatchObject({ status: "completed", input: { topic: "old" }, output: "done: old" });
    expect(detail.steps).toEqual([expect.objectContaining({ id: "flaky", input: null, inputState: "not-recorded", output: "done: old" })]);
    // Restarting it opens the journal, which adds the inputs table; the new run's step has its input.
    const restarted = (await api("/api/team-runs/Desk/d/old-1/restart", { method: "POST", admin: true })).json() as { runId: string };
    await indexed(api, restarted.runId, "failed");
    expect((await api(`/api/team-runs/Desk/d/${restarted.runId}`)).json().steps).toMatchObject([{ id: "", input: { topic: "old" }, inputState: "recorded" }]);
    expect((await api("/api/team-runs/Desk/d/old-1")).json().steps[0].inputState).toBe("not-recorded");
  });

  it("lists, shows and restarts team runs with hearth inspect", async () => {
    const env = await environment();
    await startInspectorOn(env);
    await desk(env).hello();
    const handle = inspector!;
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runInspectCommand([...argv, "--url", handle.url, "--token", handle.token, "--admin-token", handle.adminToken], process.cwd(), {}, { stdout: (text) => out.push(text), stderr: (text) => err.push(text) });
      return { code, out: out.join(""), err: err.join("") };
    };
    const started = await cli("start-team-run", "Desk/d", "i-flaky", JSON.stringify({ topic: "cli" }));
    expect(started.code).toBe(0);
    const { runId } = JSON.parse(started.out) as { runId: string };
    await until(async () => ((await cli("team-runs", "--status", "failed")).out.includes(runId) ? true : undefined), "the run to fail");
    expect(JSON.parse((await cli("team-runs", "Desk/d")).out).items).toMatchObject([{ runId, status: "failed" }]);
    const shown = JSON.parse((await cli("team-run", `Desk/d/${runId}`)).out);
    expect(shown.steps).toMatchObject([{ id: "", input: { topic: "cli" }, inputState: "recorded" }]);

    const restarted = await cli("restart-team-run", `Desk/d/${runId}`);
    expect(restarted.code).toBe(0);
    const again = JSON.parse(restarted.out) as { runId: string; restartedFrom: string };
    expect(again.restartedFrom).toBe(runId);
    await until(async () => (JSON.parse((await cli("team-run", `Desk/d/${again.runId}`)).out).status === "completed" ? true : undefined), "the new run to complete");

    const bad = await cli("team-run", "Desk/d");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Expected <Class>/<name>/<runId>, got "Desk/d"');
    const refused = await cli("pause-team-run", `Desk/d/${again.runId}`);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`409 team_run_state: Team run ${again.runId} is completed: only a running run can be paused`);
  });
});
