import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace, type Connection, type ConnectionContext } from "../../src/index.ts";
import { approval, fnMember, pipeline, team, teamRun, TEAM_FRAMES } from "../../src/teams/index.ts";
import { registerFrameHandler } from "../../src/agent/frame-handlers.ts";
import { AgentClient, watchTeamRun, type TeamRunEvent } from "../../src/client/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const reviewed = team("s-reviewed", pipeline(fnMember("draft", (q: string) => `draft of ${q}`), approval("Send it?"), fnMember("send", (d: string) => `sent ${d}`)));

class Desk extends Agent {
  async start(input: string): Promise<string> {
    return (await reviewed.start(this, input)).id;
  }
  status(id: string): string {
    return teamRun(this, id).record().status;
  }
  async approveFirst(id: string): Promise<void> {
    const run = teamRun(this, id);
    await run.approve(run.approvals()[0]!.path);
  }
}

/** Lets a connection watch only the runs named in its `?runs=` query, kept in its state at connect. */
class Room extends Desk {
  onConnect(connection: Connection, ctx: ConnectionContext) {
    connection.setState({ runs: (new URL(ctx.request.url).searchParams.get("runs") ?? "").split(",") });
  }
  canWatchTeamRun(connection: Connection, runId: string): boolean {
    return (connection.state as { runs: string[] }).runs.includes(runId);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

type EventFrame = { type: string; runId: string; event: { seq: number; type: string } };

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

function eventsOf(socket: TestSocket): EventFrame[] {
  return socket.frames.filter((f): f is EventFrame => typeof f === "object" && f !== null && (f as { type?: unknown }).type === TEAM_FRAMES.event);
}

describe("team run streams over the agent's WebSocket", () => {
  it("replays from a cursor, then streams live, across hibernation, until the run ends", async () => {
    harness = await startHarness({ Desk });
    const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, "d1");
    const id = await desk.start("the plan");
    await until(async () => (await desk.status(id)) === "waiting");

    const socket = await TestSocket.open(`${harness.wsUrl}/agents/desk/d1`);
    await socket.waitForType("cf_agent_mcp_servers");
    socket.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: id }));
    await until(async () => eventsOf(socket).some((f) => f.event.type === "run-waiting"));
    const replayed = eventsOf(socket).map((f) => f.event.type);
    expect(replayed[0]).toBe("run-started");
    expect(replayed).toContain("approval-requested");
    const seqs = eventsOf(socket).map((f) => f.event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // The agent sleeps while the run waits; the watch is stored, so the approval's events still arrive.
    harness.host.hibernateIdleAgents();
    expect(harness.host.stats.liveAgents).toBe(0);
    await desk.approveFirst(id);
    await until(async () => eventsOf(socket).some((f) => f.event.type === "run-completed"));
    const all = eventsOf(socket).map((f) => f.event.seq);
    expect(new Set(all).size).toBe(all.length); // no event twice

    // A client that reconnects with its cursor gets only what came after it.
    const cursor = seqs.at(-1)!;
    const again = await TestSocket.open(`${harness.wsUrl}/agents/desk/d1`);
    await again.waitForType("cf_agent_mcp_servers");
    again.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: id, after: cursor }));
    await until(async () => eventsOf(again).some((f) => f.event.type === "run-completed"));
    expect(eventsOf(again)[0]!.event.seq).toBe(cursor + 1);
    expect(eventsOf(again).map((f) => f.event.seq)).toEqual(all.filter((seq) => seq > cursor));
    socket.close();
    again.close();
  });

  it("answers a bad watch with an error frame", async () => {
    harness = await startHarness({ Desk });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/desk/d2`);
    await socket.waitForType("cf_agent_mcp_servers");
    socket.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: "nope" }));
    expect(await socket.waitForType(TEAM_FRAMES.error)).toEqual({ type: TEAM_FRAMES.error, runId: "nope", error: "No team run nope on this agent" });
    const mark = socket.frames.length;
    socket.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: "x", after: -1 }));
    expect(await socket.waitForType(TEAM_FRAMES.error, mark)).toMatchObject({ error: "hearth_team_watch: after must be an integer ≥ 0 (the last seq seen)" });
    socket.close();
    expect(() => registerFrameHandler("team_watch", () => undefined)).toThrow('A feature frame type must start with "hearth_"');
  });

  it("an agent's canWatchTeamRun decides which client watches which run", async () => {
    harness = await startHarness({ Room });
    const room = await getAgentByName(harness.host.env.Room as AgentNamespace<Room>, "r1");
    const id = await room.start("the plan");
    await until(async () => (await room.status(id)) === "waiting");
    const refused = await TestSocket.open(`${harness.wsUrl}/agents/room/r1?runs=other`);
    await refused.waitForType("cf_agent_mcp_servers");
    refused.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: id }));
    expect(await refused.waitForType(TEAM_FRAMES.error)).toEqual({ type: TEAM_FRAMES.error, runId: id, error: `Not allowed to watch team run ${id} (canWatchTeamRun)` });
    expect(eventsOf(refused)).toEqual([]);
    const allowed = await TestSocket.open(`${harness.wsUrl}/agents/room/r1?runs=${id}`);
    await allowed.waitForType("cf_agent_mcp_servers");
    allowed.send(JSON.stringify({ type: TEAM_FRAMES.watch, runId: id }));
    await until(async () => eventsOf(allowed).some((f) => f.event.type === "run-waiting"));
    expect(eventsOf(refused)).toEqual([]);
    refused.close();
    allowed.close();
  });

  it("watchTeamRun (hearth/client) gets every event once, in order, across a reconnect", async () => {
    harness = await startHarness({ Desk });
    const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, "d3");
    const id = await desk.start("the memo");
    await until(async () => (await desk.status(id)) === "waiting");
    const client = new AgentClient({ host: harness.url.replace(/^http:\/\//, ""), agent: "Desk", name: "d3" });
    const seen: TeamRunEvent[] = [];
    watchTeamRun(client, id, (event) => seen.push(event));
    await until(async () => seen.some((e) => e.type === "run-waiting"));
    client.reconnect();
    await until(async () => client.readyState === 1);
    await desk.approveFirst(id);
    await until(async () => seen.some((e) => e.type === "run-completed"));
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    client.close();
  });
});
