/**
 * A team run in a cluster: started through one node, its sub-agent member working there, it waits for
 * an approval; the node hands its agents over and its disk is erased; approved through another node,
 * the run finishes there — no finished step runs again, and the sub-agent member's own data came along.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { approval, fnMember, pipeline, subAgentMember, team, teamRun } from "../../src/teams/index.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";
import { until } from "./support/until.ts";

/** Every member's work, in order: a step that ran twice shows twice. */
const calls: string[] = [];

export class Writer extends Agent {
  write(input: string): string {
    this.sql`CREATE TABLE IF NOT EXISTS drafts (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    this.sql`INSERT INTO drafts (text) VALUES (${input})`;
    calls.push("writer");
    return `writer(${input})`;
  }
  drafts(): string[] {
    this.sql`CREATE TABLE IF NOT EXISTS drafts (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`;
    return this.sql<{ text: string }>`SELECT text FROM drafts ORDER BY id`.map((row) => row.text);
  }
}

const worker = (name: string) =>
  fnMember(name, (input: unknown) => {
    calls.push(name);
    return `${name}(${String(input)})`;
  });

const desk = team("cluster-desk", pipeline(worker("plan"), subAgentMember<string, string>(Writer, { name: "writer", method: "write" }), approval("publish?"), worker("review")));

export class Desk extends Agent {
  async begin(id: string): Promise<string> {
    return (await desk.start(this, "topic", { runId: id })).id;
  }
  status(id: string): { status: string; output: unknown } {
    const record = teamRun(this, id).record();
    return { status: record.status, output: record.output ?? null };
  }
  pending(id: string): string[] {
    return teamRun(this, id).approvals().map((pending) => pending.path);
  }
  async approve(id: string, path: string): Promise<void> {
    await teamRun(this, id).approve(path);
  }
  async writerDrafts(): Promise<string[]> {
    return (await this.subAgent(Writer, "writer")).drafts();
  }
}

describe.skipIf(postgresUnavailable() !== undefined)("team runs in a cluster", () => {
  let connectionString: string;
  const nodes: TestNode[] = [];
  beforeAll(async () => {
    connectionString = await (await sharedPostgres()).database("team_runs_cluster");
    for (const id of ["a", "b"]) nodes.push(await startTestNode(connectionString, id, { host: { agents: { Desk, Writer } } }));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopTestNode(running).catch(() => undefined);
  }, 60_000);

  test("a run waiting for approval moves with its agent and finishes on the other node", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const deskOf = (running: TestNode) => getAgentByName(running.host.env.Desk as AgentNamespace<Desk>, "d");
    expect(await (await deskOf(a)).begin("r1")).toBe("r1");
    const [path] = await until("the approval", async () => (await deskOf(a)).pending("r1"), (paths) => paths.length === 1);
    expect(calls).toEqual(["plan", "writer"]);
    const holder = nodes.find((running) => running.node.holds("desk", "d"))!;
    const other = holder === a ? b : a;
    nodes.splice(nodes.indexOf(holder), 1);
    await stopTestNode(holder); // hands over, erases its disk

    await (await deskOf(other)).approve("r1", path!);
    const done = await until("the run", async () => (await deskOf(other)).status("r1"), (status) => status.status === "completed");
    expect(done.output).toBe("review(writer(plan(topic)))");
    expect(calls).toEqual(["plan", "writer", "review"]);
    expect(other.node.holds("desk", "d")).toBe(true);
    expect(await (await deskOf(other)).writerDrafts()).toEqual(["plan(topic)"]);
  }, 60_000);
});
