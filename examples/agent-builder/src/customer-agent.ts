/**
 * `CustomerAgent`: the agent one customer builds. It is a sub-agent of the `Builder` (a facet with
 * its own SQLite file), so its instructions, its tools and its conversation live in a database no
 * other customer's agent can open. Reached at `/agents/builder/<workspace>/sub/customer-agent/<customer>`.
 */
import { randomUUID } from "node:crypto";
import { convertToModelMessages, stepCountIs, streamText } from "ai";
import { callable, type StateSource, type WorkerLoader } from "hearth";
import { AIChatAgent, chatModelFromEnv, type ChatFinishCallback, type ChatModelChoice, type OnChatMessageOptions } from "hearth/chat";
import { checkTool, checkToolLoads, runCustomerTool, toolSetOf, type CustomerTool } from "./customer-tools.ts";
import { BUILDER_LIMITS } from "./limits.ts";
import { modelErrorMessage } from "./model-error.ts";

/** What the agent reads from `env`: the loader, model keys (see `chatModelFromEnv`) and the demo model's pace. */
export interface Env {
  LOADER: WorkerLoader;
  [variable: string]: unknown;
}

/** The agent's state, synced to the customer's page. */
export interface CustomerState {
  /** The system prompt of every answer. */
  instructions: string;
  tools: CustomerTool[];
  /** Which model answers, for the page. */
  model: string;
}

const DEFAULT_INSTRUCTIONS = "You are a helpful assistant. Use the tools when they help.";

export class CustomerAgent extends AIChatAgent<Env, CustomerState> {
  override initialState: CustomerState = { instructions: DEFAULT_INSTRUCTIONS, tools: [], model: "" };
  #choice: Promise<ChatModelChoice> | undefined;

  override async onStart(): Promise<void> {
    const { label } = await this.#model();
    if (this.state.model !== label) this.setState({ ...this.state, model: label });
  }

  /** The page changes the state only through the methods below, which check their input. */
  override validateStateChange(_next: CustomerState, source: StateSource): void {
    if (source !== "server") throw new Error("Change the agent with setInstructions, saveTool and removeTool");
  }

  @callable() setInstructions(instructions: string): CustomerState {
    if (typeof instructions !== "string") throw new TypeError("Instructions are text");
    if (instructions.length > BUILDER_LIMITS.maxInstructionsChars) {
      throw new RangeError(`Instructions are at most ${BUILDER_LIMITS.maxInstructionsChars} characters`);
    }
    this.setState({ ...this.state, instructions });
    return this.state;
  }

  /** Adds a tool, or replaces the one of the same name; the code must load in the sandbox. */
  @callable() async saveTool(input: CustomerTool): Promise<CustomerState> {
    const next = checkTool(input);
    const others = this.state.tools.filter((t) => t.name !== next.name);
    if (others.length >= BUILDER_LIMITS.maxTools) throw new RangeError(`An agent has at most ${BUILDER_LIMITS.maxTools} tools`);
    await checkToolLoads(next);
    const tools = [...this.state.tools];
    const at = tools.findIndex((t) => t.name === next.name);
    if (at < 0) tools.push(next);
    else tools[at] = next;
    this.setState({ ...this.state, tools });
    return this.state;
  }

  @callable() removeTool(name: string): CustomerState {
    this.setState({ ...this.state, tools: this.state.tools.filter((t) => t.name !== name) });
    return this.state;
  }

  /** Runs a tool as the model would, for the page's "Try" button. */
  @callable() async tryTool(name: string, input: string): Promise<unknown> {
    const found = this.state.tools.find((t) => t.name === name);
    if (!found) throw new TypeError(`No tool named ${String(name)}`);
    return this.#run(found, String(input));
  }

  /** Bytes of this agent's own database, for the operator (called by the Builder). */
  storageBytes(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /** Closes every page open on this agent, saying why (called by the Builder when it suspends it). */
  disconnectAll(reason: string): void {
    for (const connection of this.getConnections()) connection.close(4003, reason);
  }

  /** `GET …/profile`: the page checks it can reach its agent (suspended and unknown customers are refused before this). */
  override onRequest(request: Request): Response {
    if (new URL(request.url).pathname === "/profile") return Response.json({ customer: this.name, ...this.state });
    return Response.json({ error: "Not found" }, { status: 404 });
  }

  override async onChatMessage(onFinish: ChatFinishCallback, { abortSignal }: OnChatMessageOptions): Promise<Response> {
    const { model } = await this.#model();
    const result = streamText({
      model,
      system: this.state.instructions,
      messages: await convertToModelMessages(this.messages),
      tools: toolSetOf(this.state.tools, (t, input) => this.#run(t, input)),
      stopWhen: stepCountIs(4),
      abortSignal,
      onFinish,
    });
    // The customer's page shows why a reply failed (a refused key, an unknown model), never the key itself.
    return result.toUIMessageStreamResponse({ onError: (error) => modelErrorMessage(error, this.env), redactToolErrors: false });
  }

  #run(customerTool: CustomerTool, input: string): Promise<unknown> {
    return runCustomerTool(this.env.LOADER, `agent-builder/${this.name}/${this.#incarnation()}`, customerTool, input);
  }

  /** Unique to this agent's database: a customer deleted and created again never reuses a warm sandbox. */
  #incarnation(): string {
    let id = this.ctx.storage.kv.get<string>("incarnation");
    if (id === undefined) this.ctx.storage.kv.put("incarnation", (id = randomUUID()));
    return id;
  }

  /**
   * The model: a real one when a key is set (OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL),
   * otherwise the offline demo model, which needs no network. To pin a model of your own instead:
   *
   *   import { createOpenAI } from "@ai-sdk/openai";
   *   const model = createOpenAI({ apiKey: this.env.OPENAI_API_KEY })("gpt-5-mini");
   */
  #model(): Promise<ChatModelChoice> {
    const delay = Number(this.env.DEMO_WORD_DELAY_MS);
    this.#choice ??= chatModelFromEnv(this.env, { demo: { wordDelayMs: Number.isFinite(delay) ? delay : 20 } });
    return this.#choice;
  }
}
