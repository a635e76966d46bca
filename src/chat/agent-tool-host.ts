/**
 * The agent-tool layer of `AIChatAgent` (Cloudflare's `runAgentTool` family): as a parent it runs
 * child chat agents as tools and keeps their run registry; as a child it answers a parent's run in
 * a headless turn. `AIChatAgent` extends this class and supplies the turn.
 */
import type { UIMessage } from "ai";
import { AGENT_RUNTIME, REPORT_ERROR } from "../agent/agent-base.ts";
import { Agent, HANDLE } from "../platform/agent.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { isAgentNamespace } from "../host/namespace.ts";
import type { SubAgentClass } from "../sub-agents/sub-agent-agent.ts";
import { AgentToolChild } from "./agent-tool-child.ts";
import { AgentToolParent, type AgentToolChildStub } from "./agent-tool-parent.ts";
import type {
  AgentToolPull,
  AgentToolReplayOptions,
  AgentToolRunInfo,
  AgentToolRunInspection,
  AgentToolStoredChunk,
  ClearAgentToolRunsOptions,
  RunAgentToolOptions,
  RunAgentToolResult,
} from "./agent-tool-types.ts";
import type { SaveMessagesResult } from "./types.ts";

/** @internal The headless turn of a child run, supplied by `AIChatAgent`. */
export const AGENT_TOOL_TURN: unique symbol = Symbol("hearth.agentToolTurn");

/**
 * Base of `AIChatAgent`: agent tools as parent and as child. Use it through `AIChatAgent`.
 */
export abstract class AgentToolHost<Env = unknown, State = unknown, Message extends UIMessage = UIMessage> extends Agent<Env, State> {
  /** Runs that may be `starting` or `running` at once; a run beyond it ends `error` at once, naming the limit. Default: no cap. */
  maxConcurrentAgentTools = Infinity;
  #parent: AgentToolParent | undefined;
  #child: AgentToolChild<Message> | undefined;

  constructor(...args: ConstructorParameters<typeof Agent<Env, State>>) {
    super(...args);
    replayOptionsOf(new.target); // a bad static option fails here, when the agent starts, not at a client's connect
  }

  /** The conversation (see `AIChatAgent.messages`). */
  abstract get messages(): Message[];

  /** @internal Runs one headless turn answering `message()`, every streamed chunk passed to `observe`. */
  protected abstract [AGENT_TOOL_TURN](message: () => Message, signal: AbortSignal, observe: (body: string) => void): Promise<SaveMessagesResult>;

  /**
   * Runs `cls` (a chat agent class of this worker) as a child sub-agent named by the run id: its
   * turn answers `input`, its stream goes to this agent's clients as `agent-tool-event` frames and
   * into the run registry; resolves with how the run ended. Idempotent by `runId`.
   * @example
   * const [a, b] = await Promise.all([
   *   this.runAgentTool(Researcher, { input: { query: "HTTP/3" }, displayOrder: 0 }),
   *   this.runAgentTool(Researcher, { input: { query: "gRPC" }, displayOrder: 1 }),
   * ]);
   */
  async runAgentTool<Input = unknown, Output = unknown>(cls: SubAgentClass | string, options: RunAgentToolOptions<Input>): Promise<RunAgentToolResult<Output>> {
    return (await this.#tools.run(cls, options)) as RunAgentToolResult<Output>;
  }

  /**
   * Cancels a run (its child's turn stops; the run ends `aborted`). Idempotent.
   * @example
   * await this.cancelAgentTool(runId, "the user moved on");
   */
  async cancelAgentTool(runId: string, reason?: unknown): Promise<void> {
    await this.#tools.cancel(runId, reason);
  }

  /**
   * True when this agent recorded a run with this child class (binding name) and id: gate
   * drill-in URLs with it in `onBeforeSubAgent`.
   * @example
   * onBeforeSubAgent(_req, child) {
   *   if (!this.hasAgentToolRun(child.className, child.name)) return new Response("Not found", { status: 404 });
   * }
   */
  hasAgentToolRun(agentType: string, runId: string): boolean {
    return this.#tools.has(agentType, runId);
  }

  /**
   * Deletes retained runs and their child sub-agents (all, or those matching the filters); a run
   * still going is cancelled first.
   * @example
   * await this.clearAgentToolRuns({ olderThan: Date.now() - 7 * 24 * 60 * 60_000 });
   */
  async clearAgentToolRuns(options?: ClearAgentToolRunsOptions): Promise<void> {
    await this.#tools.clear(options);
  }

  /**
   * Called when a run starts (recorded, before its child's turn).
   * @example
   * onAgentToolStart(run) { console.log("started", run.agentType, run.runId); }
   */
  onAgentToolStart(_run: AgentToolRunInfo): void | Promise<void> {}

  /**
   * Called when a run ended, once its end is stored.
   * @example
   * onAgentToolFinish(run, result) { if (result.status === "error") console.warn(run.runId, result.error); }
   */
  onAgentToolFinish(_run: AgentToolRunInfo, _result: RunAgentToolResult): void | Promise<void> {}

  /**
   * Child side: starts the run `options.runId` with `input` (or reports the run with that id).
   * Parents call it through the sub-agent stub; you rarely call it yourself.
   * @example
   * const child = await this.subAgent(Researcher, "r1");
   * await child.startAgentToolRun({ query: "HTTP/3" }, { runId: "r1" });
   */
  async startAgentToolRun(input: unknown, options: { runId: string }): Promise<AgentToolRunInspection> {
    return this.#runs.start(input, options?.runId);
  }

  /**
   * Child side: stops a run's turn; the run ends `aborted`.
   * @example
   * await child.cancelAgentToolRun("r1", "no longer needed");
   */
  async cancelAgentToolRun(runId: string, reason?: unknown): Promise<void> {
    this.#runs.cancel(runId, reason);
  }

  /**
   * Child side: a run's record, or null when this agent has none.
   * @example
   * const { status, summary } = (await child.inspectAgentToolRun("r1")) ?? {};
   */
  async inspectAgentToolRun(runId: string): Promise<AgentToolRunInspection | null> {
    return this.#runs.inspect(runId);
  }

  /**
   * Child side: a run's streamed chunks after `afterSequence` (all by default), one batch.
   * @example
   * const chunks = await child.getAgentToolChunks("r1", { afterSequence: 10 });
   */
  async getAgentToolChunks(runId: string, options?: { afterSequence?: number }): Promise<AgentToolStoredChunk[]> {
    return this.#runs.chunks(runId, options?.afterSequence);
  }

  /**
   * Child side: the live tail of a run, as a long poll (Hearth's stand-in for Cloudflare's
   * `tailAgentToolRun` stream): the chunks after `afterSequence`, waiting up to `waitMs` for one.
   * @example
   * const { chunks, done } = await child.pullAgentToolChunks("r1", { afterSequence: -1 });
   */
  async pullAgentToolChunks(runId: string, options?: { afterSequence?: number; waitMs?: number }): Promise<AgentToolPull> {
    return this.#runs.pull(runId, options?.afterSequence, options?.waitMs);
  }

  /**
   * Child side: the user message a run's input becomes (default: the input as text, or as JSON).
   * @example
   * protected formatAgentToolInput(input: { text: string }, request: { runId: string }) {
   *   return { id: `agent-tool-${request.runId}-input`, role: "user", parts: [{ type: "text", text: `Summarize:\n\n${input.text}` }] };
   * }
   */
  protected formatAgentToolInput(input: unknown, request: { runId: string }): Message {
    let text: string;
    try {
      text = typeof input === "string" ? input : JSON.stringify(input, null, 2);
    } catch {
      text = String(input);
    }
    return { id: `agent-tool-${request.runId}-input`, role: "user", parts: [{ type: "text", text }] } as unknown as Message;
  }

  /**
   * Child side: the run's output, as the parent's `runAgentTool` gets it (default: the last assistant text).
   * @example
   * protected getAgentToolOutput(request: { runId: string; input: unknown }) { return this.resultOf(request.runId); }
   */
  protected getAgentToolOutput(_request: { runId: string; input: unknown }, messagesAfterStart: readonly Message[]): unknown {
    return lastAssistantText(messagesAfterStart);
  }

  /**
   * Child side: the short text stored on the parent's run and given to the parent model (default:
   * the output if text, else the last assistant text, else the output as JSON).
   * @example
   * protected getAgentToolSummary(_request, output: { rows: unknown[] }) { return `Extracted ${output.rows.length} rows.`; }
   */
  protected getAgentToolSummary(_request: { runId: string; input: unknown }, output: unknown, messagesAfterStart: readonly Message[]): string {
    if (typeof output === "string") return output;
    if (output === undefined) return lastAssistantText(messagesAfterStart) ?? "";
    try {
      return JSON.stringify(output);
    } catch {
      return String(output);
    }
  }

  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    await super[HANDLE.start](props);
    // Runs a restart left going are settled in the background: start-up does not wait for children.
    if (this.#tools.store.exists) {
      void this.#tools.recover().catch((error: unknown) => this[REPORT_ERROR](error));
    }
  }

  override async [HANDLE.connect](record: SocketRecord, request: Request): Promise<void> {
    await super[HANDLE.connect](record, request);
    const connection = this.getConnection(record.id);
    if (connection && record.connected && record.protocol) this.#tools.replay(connection);
  }

  override [HANDLE.unload](): void {
    this.#parent?.unload();
    this.#child?.unload();
    super[HANDLE.unload]();
  }

  override async destroy(): Promise<void> {
    this.#parent?.unload();
    this.#child?.unload();
    await super.destroy();
  }

  get #tools(): AgentToolParent {
    if (!this.#parent) {
      const runtime = this[AGENT_RUNTIME];
      this.#parent = new AgentToolParent({
        db: runtime.db,
        now: () => runtime.clock.now(),
        agentType: (cls) => this.#chatChildBinding(cls),
        child: async (agentType, runId) => (await this.subAgent(agentType, runId)) as unknown as AgentToolChildStub,
        deleteChild: (agentType, runId) => this.deleteSubAgent(agentType, runId),
        connections: () => this.getConnections(),
        maxConcurrent: () => this.maxConcurrentAgentTools,
        replayOptions: () => replayOptionsOf(this.constructor),
        started: (run) => this.onAgentToolStart(run),
        finished: (run, result) => this.onAgentToolFinish(run, result),
        keepAlive: () => runtime.keepAlive(),
        report: (error) => this[REPORT_ERROR](error),
      });
    }
    return this.#parent;
  }

  get #runs(): AgentToolChild<Message> {
    if (!this.#child) {
      const runtime = this[AGENT_RUNTIME];
      this.#child = new AgentToolChild<Message>({
        db: runtime.db,
        now: () => runtime.clock.now(),
        messages: () => this.messages,
        runTurn: (message, signal, observe) => this[AGENT_TOOL_TURN](message, signal, observe),
        formatInput: (input, request) => this.formatAgentToolInput(input, request),
        output: (request, after) => this.getAgentToolOutput(request, after),
        summary: (request, output, after) => this.getAgentToolSummary(request, output, after),
        keepAlive: () => runtime.keepAlive(),
        report: (error) => this[REPORT_ERROR](error),
      });
    }
    return this.#child;
  }

  /** The binding name of a chat agent class of this worker; a clear error for anything else. */
  #chatChildBinding(cls: unknown): string {
    for (const [binding, value] of Object.entries(this[AGENT_RUNTIME].exports)) {
      if (!isAgentNamespace(value) || (value.agentClass !== cls && binding !== cls)) continue;
      if (!(value.agentClass.prototype instanceof AgentToolHost)) {
        throw new TypeError(`runAgentTool: ${binding} is not a chat agent; an agent tool's child must extend AIChatAgent`);
      }
      return binding;
    }
    const name = typeof cls === "string" ? cls : typeof cls === "function" ? cls.name : String(cls);
    throw new TypeError(`runAgentTool: ${name} is not an agent class of this worker (export it from the entry, or add it to the host's agents)`);
  }
}

function lastAssistantText(messages: readonly UIMessage[]): string | undefined {
  const message = messages.findLast((candidate) => candidate.role === "assistant");
  const text = (message?.parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
  return text.length > 0 ? text : undefined;
}

const checkedReplayOptions = new WeakMap<object, AgentToolReplayOptions>();

/** The class's `static options.agentToolReplayOnConnect` (Cloudflare's option), checked once per class. */
function replayOptionsOf(agentClass: object): AgentToolReplayOptions {
  let options = checkedReplayOptions.get(agentClass);
  if (!options) {
    options = readReplayOptions(agentClass);
    checkedReplayOptions.set(agentClass, options);
  }
  return options;
}

function readReplayOptions(agentClass: object): AgentToolReplayOptions {
  const raw = (agentClass as { options?: { agentToolReplayOnConnect?: unknown } }).options?.agentToolReplayOnConnect;
  if (raw === undefined) return {};
  const name = (agentClass as { name?: string }).name ?? "agent";
  if (typeof raw !== "object" || raw === null) throw new TypeError(`${name}.options.agentToolReplayOnConnect must be { maxRuns?, maxChunksPerRun? }`);
  const result: AgentToolReplayOptions = {};
  for (const key of ["maxRuns", "maxChunksPerRun"] as const) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined || value === Infinity) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw new RangeError(`${name}.options.agentToolReplayOnConnect.${key} must be a whole number >= 0, got ${String(value)}`);
    }
    result[key] = value;
  }
  return result;
}
