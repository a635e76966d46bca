/**
 * State, RPC, schedules, workflows, chat and MCP sessions against three cluster nodes behind a round-robin
 * balancer, through Cloudflare's own clients (`agents/client`, `agents/chat/transport`): every
 * connection and call lands on whichever node the balancer picks, and reaches the one node that holds
 * the agent (the workflow instances run on a third, perhaps). The client suites run here too (vitest
 * project "cluster"); this file adds what they do not cover.
 */
import { convertToModelMessages, streamText, type UIMessage } from "ai";
import { WebSocketChatTransport } from "agents/chat/transport";
import { AgentClient } from "agents/client";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AIChatAgent, type ChatFinishCallback } from "../../src/chat/index.ts";
import { Agent, routeAgentRequest } from "../../src/index.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";
import { messageText, scriptedModel, textStream, until } from "../chat/helpers.ts";
import { NodeChat } from "../chat/node-chat.ts";
import { Notes } from "../mcp/fixtures/notes.ts";
import { postgresUnavailable } from "../support/postgres.ts";
import { startInProcessCluster, type InProcessCluster } from "./support/in-process-cluster.ts";
import { WORKFLOWS_SERVICE, workflowPartitionOf } from "../../src/cluster/workflows.ts";

interface PlannerState {
  fired: string[];
  results: unknown[];
}

class Planner extends Agent<unknown, PlannerState> {
  static callables = { remindIn: {}, fired: {}, startDouble: {}, results: {}, scheduled: {}, tally: {} };
  override initialState: PlannerState = { fired: [], results: [] };

  async remindIn(ms: number, text: string): Promise<string> {
    return (await this.schedule(ms / 1000, "remind", text)).id;
  }

  remind(text: string): void {
    this.setState({ ...this.state, fired: [...this.state.fired, text] });
  }

  fired(): string[] {
    return this.state.fired;
  }

  scheduled(): number {
    return this.getSchedules().length;
  }

  /** Reminders still pending and fired, read together (one may fire at any moment). */
  tally(): number {
    return this.getSchedules().length + this.state.fired.length;
  }

  async startDouble(n: number): Promise<string> {
    return this.runWorkflow("Double", { n });
  }

  override async onWorkflowComplete(_name: string, _id: string, result?: unknown): Promise<void> {
    this.setState({ ...this.state, results: [...this.state.results, result] });
  }

  results(): unknown[] {
    return this.state.results;
  }
}

class Double extends WorkflowEntrypoint<unknown, { n: number }> {
  async run(event: WorkflowEvent<{ n: number }>, step: WorkflowStep) {
    const doubled = await step.do("double", async () => event.payload.n * 2);
    await step.sleep("beat", 50);
    return { doubled };
  }
}

let model = scriptedModel(textStream("Hello from the cluster."));

class Talk extends AIChatAgent {
  static callables = { history: {} };

  async onChatMessage(onFinish: ChatFinishCallback) {
    const result = streamText({ model, messages: await convertToModelMessages(this.messages), onFinish });
    return result.toUIMessageStreamResponse();
  }

  history(): UIMessage[] {
    return this.messages;
  }
}

describe.skipIf(postgresUnavailable() !== undefined)("state, RPC, schedules, workflows, chat and MCP on a three-node cluster", () => {
  let cluster: InProcessCluster;
  const clients: AgentClient[] = [];
  const connect = async (agent: string, name: string): Promise<AgentClient> => {
    const client = new AgentClient({ host: new URL(cluster.url).host, agent, name });
    clients.push(client);
    await client.ready;
    return client;
  };
  beforeAll(async () => {
    const mcp = Notes.serve("/mcp");
    cluster = await startInProcessCluster({ agents: { Planner, Talk, Notes }, workflows: { Double } }, 3, async (request, env, ctx) =>
      new URL(request.url).pathname.startsWith("/mcp") ? mcp.fetch(request, env, ctx) : ((await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 })),
    );
  }, 60_000);
  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await cluster?.close();
  }, 60_000);

  test("a schedule made over RPC through one node fires on the node that holds the agent; clients see the state", async () => {
    const [first, second] = [await connect("Planner", "p1"), await connect("Planner", "p1")];
    await first.call("remindIn", [100, "soon"]);
    await first.call("remindIn", [300, "later"]);
    // Each reminder is pending or has fired (on a loaded machine the first may fire before this reads).
    expect(await second.call("tally")).toBe(2);
    await until(async () => ((await second.call("fired")) as string[]).length === 2, "both reminders");
    expect(await first.call("fired")).toEqual(["soon", "later"]);
    await until(() => (second.state as PlannerState | undefined)?.fired.length === 2, "the state synced to the other client");
    expect(await second.call("scheduled")).toBe(0);
    expect(cluster.nodes.filter((node) => node.node.holds("planner", "p1"))).toHaveLength(1);
  }, 30_000);

  test("an agent's workflow runs on the node holding its partition and reports back to the agent wherever it is", async () => {
    const client = await connect("Planner", "p2");
    const id = await client.call("startDouble", [21]);
    expect(typeof id).toBe("string");
    await until(async () => ((await client.call("results")) as unknown[]).length === 1, "the workflow's result");
    expect(await client.call("results")).toEqual([{ doubled: 42 }]);
    // Never two holders; on a loaded machine the partition may be between two nodes (handed to the one
    // the nodes prefer) for a moment when this looks, so it waits for the one that holds it.
    const holders = () => cluster.nodes.filter((node) => node.node.holds(WORKFLOWS_SERVICE, workflowPartitionOf("Double", id as string))).length;
    expect(holders()).toBeLessThanOrEqual(1);
    await until(() => holders() === 1, "one node holding the instance's partition");
  }, 30_000);

  test("a chat streams through any node; the conversation is kept once, by the node holding it", async () => {
    model = scriptedModel(textStream("Hello from the cluster."), textStream("Still here."));
    const agent = await connect("Talk", "c1");
    const chat = new NodeChat({ transport: new WebSocketChatTransport<UIMessage>({ agent }) });
    await chat.sendMessage({ text: "Hi" });
    expect(chat.error).toBeUndefined();
    expect(chat.messages.map(messageText)).toEqual(["Hi", "Hello from the cluster."]);
    await chat.sendMessage({ text: "Again" });
    expect(chat.messages.map(messageText)).toEqual(["Hi", "Hello from the cluster.", "Again", "Still here."]);
    const elsewhere = await connect("Talk", "c1");
    const stored = (await elsewhere.call("history")) as unknown as UIMessage[];
    expect(stored.map((message) => message.id)).toEqual(chat.messages.map((message) => message.id));
    expect(cluster.nodes.filter((node) => node.node.holds("talk", "c1"))).toHaveLength(1);
  }, 30_000);

  test("MCP sessions over Streamable HTTP: each request may land on another node, every session reaches its own agent", async () => {
    const text = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text;
    const open = async () => {
      const client = new Client({ name: "cluster-test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`${cluster.url}/mcp`));
      await client.connect(transport);
      return { client, transport };
    };
    const [a, b] = [await open(), await open()];
    try {
      expect((await a.client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(["add_note", "list_notes", "slow_echo", "whoami"]);
      for (const note of ["a1", "a2", "a3"]) await a.client.callTool({ name: "add_note", arguments: { text: note } });
      await b.client.callTool({ name: "add_note", arguments: { text: "b1" } });
      expect(text(await a.client.callTool({ name: "list_notes", arguments: {} }))).toBe("a1\na2\na3");
      expect(text(await b.client.callTool({ name: "list_notes", arguments: {} }))).toBe("b1");
      expect(JSON.parse(text(await a.client.callTool({ name: "whoami", arguments: {} }))).session).toBe(a.transport.sessionId);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  }, 30_000);
});
