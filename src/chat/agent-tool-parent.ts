/**
 * The parent half of agent tools: dispatches a run to a child chat agent (a sub-agent named by the
 * run id), pulls the child's stream and forwards each chunk to the parent's clients as an
 * `agent-tool-event` frame (recorded in the registry for replay), bridges cancellation, and stores
 * how the run ended. After a restart, runs left going are re-attached or ended `interrupted`.
 */
import { generateId } from "ai";
import type { Connection } from "../agent/connection.ts";
import { messageOf } from "../agent/rpc.ts";
import type { AgentDatabase } from "../storage/database.ts";
import { INTERRUPTED_CHILD_RUN } from "./agent-tool-child.ts";
import { agentToolFrame, startedEvent, terminalEvent } from "./agent-tool-frames.ts";
import { AGENT_TOOL_LIMITS } from "./agent-tool-limits.ts";
import { AgentToolRunStore, LIVE_STATUSES, type StoredRun } from "./agent-tool-store.ts";
import type {
  AgentToolPull,
  AgentToolReplayOptions,
  AgentToolRunInfo,
  AgentToolRunInspection,
  ClearAgentToolRunsOptions,
  RunAgentToolOptions,
  RunAgentToolResult,
} from "./agent-tool-types.ts";

/** The methods a parent calls on its child (the child's sub-agent stub). */
export interface AgentToolChildStub {
  startAgentToolRun(input: unknown, options: { runId: string }): Promise<AgentToolRunInspection>;
  cancelAgentToolRun(runId: string, reason?: unknown): Promise<void>;
  inspectAgentToolRun(runId: string): Promise<AgentToolRunInspection | null>;
  pullAgentToolChunks(runId: string, options?: { afterSequence?: number; waitMs?: number }): Promise<AgentToolPull>;
}

/** What the parent half needs from its agent. */
export interface AgentToolParentHost {
  readonly db: AgentDatabase;
  now(): number;
  /** The child class's binding name; throws when it is no chat agent of this worker. */
  agentType(cls: unknown): string;
  child(agentType: string, runId: string): Promise<AgentToolChildStub>;
  deleteChild(agentType: string, runId: string): Promise<void>;
  connections(): Iterable<Connection>;
  maxConcurrent(): number;
  replayOptions(): AgentToolReplayOptions;
  started(run: AgentToolRunInfo): void | Promise<void>;
  finished(run: AgentToolRunInfo, result: RunAgentToolResult): void | Promise<void>;
  keepAlive(): () => void;
  report(error: unknown): void;
}

const HARD_ENDS = new Set(["completed", "error", "aborted"]);
const LEFT = Symbol("left");

export class AgentToolParent {
  readonly store: AgentToolRunStore;
  readonly #host: AgentToolParentHost;
  /** Runs driven by this process, by id: a second call with the same id shares the first one's end. */
  readonly #live = new Map<string, Promise<RunAgentToolResult>>();
  /** Aborted when the agent leaves memory: runs stop where they are, without writing. */
  readonly #leaving = new AbortController();

  constructor(host: AgentToolParentHost) {
    this.#host = host;
    this.store = new AgentToolRunStore(host.db);
  }

  async run(cls: unknown, options: RunAgentToolOptions): Promise<RunAgentToolResult> {
    if (typeof options !== "object" || options === null) throw new TypeError("runAgentTool: pass { input, … } as the second argument");
    if ((options as { detached?: unknown }).detached) {
      throw new TypeError("runAgentTool: detached runs are not supported on Hearth; await the run (drop `detached`), or start it from a schedule or a workflow");
    }
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError("runAgentTool: options.signal must be an AbortSignal");
    const agentType = this.#host.agentType(cls);
    const runId = options.runId ?? `agent-tool:${generateId()}`;
    checkRunId(agentType, runId);
    const running = this.#live.get(runId);
    if (running) return running;
    const existing = this.store.get(runId);
    if (existing) return this.#track(runId, this.#reattach(existing, options.signal));

    const run: AgentToolRunInfo = {
      runId,
      agentType,
      status: "starting",
      displayOrder: options.displayOrder ?? 0,
      startedAt: this.#host.now(),
      inputPreview: options.inputPreview ?? preview(options.input),
      ...(options.parentToolCallId !== undefined ? { parentToolCallId: options.parentToolCallId } : {}),
      ...(options.display !== undefined ? { display: options.display } : {}),
    };
    const max = this.#host.maxConcurrent();
    if (this.store.countLive() >= max) {
      const error = `maxConcurrentAgentTools (${max}) exceeded`;
      this.store.insert({ ...run, status: "error", completedAt: this.#host.now() }, error);
      this.#broadcast(run.parentToolCallId, 0, startedEvent(run));
      const result: RunAgentToolResult = { runId, agentType, status: "error", error };
      this.#broadcast(run.parentToolCallId, 1, terminalEvent(result)!);
      return result;
    }
    this.store.insert(run);
    await this.#hook(() => this.#host.started(run));
    this.#broadcast(run.parentToolCallId, 0, startedEvent(run));
    return this.#track(runId, this.#drive(run, { input: options.input }, options.signal));
  }

  /** Cancels a run: its child's turn stops and the run ends `aborted`. Nothing for a run that ended. */
  async cancel(runId: string, reason?: unknown): Promise<void> {
    const run = this.store.get(runId);
    if (!run || HARD_ENDS.has(run.status)) return;
    try {
      await (await this.#host.child(run.agentType, runId)).cancelAgentToolRun(runId, reason ?? "cancelled by parent");
    } catch (error) {
      this.#host.report(error);
    }
    // A run driven here ends through its own loop, which sees the child's `aborted`.
    if (!this.#live.has(runId)) await this.#finish(run, { runId, agentType: run.agentType, status: "aborted", error: reasonText(reason) });
  }

  has(agentType: string, runId: string): boolean {
    return this.store.has(agentType, runId);
  }

  /** Deletes runs (and their children), cancelling those still going; a child that cannot be reached still goes. */
  async clear(options: ClearAgentToolRunsOptions = {}): Promise<void> {
    if (typeof options !== "object" || options === null) throw new TypeError("clearAgentToolRuns: options must be an object");
    const { olderThan, status } = options;
    if (olderThan !== undefined && (typeof olderThan !== "number" || Number.isNaN(olderThan))) throw new TypeError("clearAgentToolRuns: olderThan must be epoch milliseconds");
    if (status !== undefined && !Array.isArray(status)) throw new TypeError("clearAgentToolRuns: status must be an array of run states");
    for (const run of this.store.list(status)) {
      if (olderThan !== undefined && run.startedAt >= olderThan) continue;
      try {
        if (LIVE_STATUSES.includes(run.status)) await (await this.#host.child(run.agentType, run.runId)).cancelAgentToolRun(run.runId, "clearing agent tool run");
        await this.#host.deleteChild(run.agentType, run.runId);
      } catch (error) {
        this.#host.report(error);
      }
      this.store.delete(run.runId);
    }
  }

  /** Sends the registry to one (re)connected client, every frame marked `replay`. */
  replay(connection: Connection): void {
    if (!this.store.exists) return;
    const { maxRuns, maxChunksPerRun } = this.#host.replayOptions();
    let runs = this.store.list();
    if (maxRuns !== undefined && runs.length > maxRuns) runs = runs.slice(runs.length - maxRuns);
    for (const run of runs) {
      connection.send(agentToolFrame(run.parentToolCallId, 0, startedEvent(run), true));
      for (const event of this.store.events(run.runId, maxChunksPerRun)) {
        connection.send(agentToolFrame(run.parentToolCallId, event.sequence, { kind: "chunk", runId: run.runId, body: event.body }, true));
      }
      const end = HARD_ENDS.has(run.status) || run.status === "interrupted" ? terminalEvent(resultOf(run)) : undefined;
      if (end) connection.send(agentToolFrame(run.parentToolCallId, this.store.lastSequence(run.runId) + 1, end, true));
    }
  }

  /** Start-up: runs a restart left going are re-attached (the child finished) or ended `interrupted`. */
  async recover(): Promise<void> {
    if (!this.store.exists) return;
    await Promise.all(this.store.list(LIVE_STATUSES).map((run) => this.#live.get(run.runId) ?? this.#track(run.runId, this.#reattach(run, undefined))));
  }

  /** The agent leaves memory: runs stop where they are (the next start recovers them). */
  unload(): void {
    this.#leaving.abort();
  }

  #track(runId: string, pending: Promise<RunAgentToolResult>): Promise<RunAgentToolResult> {
    const release = this.#host.keepAlive();
    const tracked = pending.finally(() => {
      this.#live.delete(runId);
      release();
    });
    this.#live.set(runId, tracked);
    return tracked;
  }

  /** A run recorded before: its end, the child's end collected, its live child followed, or `interrupted`. */
  async #reattach(run: StoredRun, signal: AbortSignal | undefined): Promise<RunAgentToolResult> {
    if (HARD_ENDS.has(run.status)) return resultOf(run);
    let inspection: AgentToolRunInspection | null;
    try {
      inspection = await (await this.#host.child(run.agentType, run.runId)).inspectAgentToolRun(run.runId);
    } catch (error) {
      if (this.#leaving.signal.aborted) return { runId: run.runId, agentType: run.agentType, status: "aborted" };
      return this.#finish(run, interrupted(run, "inspect-failed", `The child could not be reached: ${messageOf(error)}`));
    }
    if (inspection?.status === "running" || inspection?.status === "starting") return this.#drive(run, undefined, signal);
    if (!inspection || (inspection.status === "error" && inspection.error === INTERRUPTED_CHILD_RUN)) {
      return this.#finish(run, interrupted(run, "not-tailable", "The run was cut short by a restart before the child finished; it can be retried"));
    }
    return this.#finish(run, fromInspection(run.agentType, inspection));
  }

  /** Starts the child's turn (`start` given) or follows it, forwarding its chunks, until it ends. */
  async #drive(run: AgentToolRunInfo, start: { input: unknown } | undefined, signal: AbortSignal | undefined): Promise<RunAgentToolResult> {
    const { runId, agentType } = run;
    const stop = signal ? AbortSignal.any([signal, this.#leaving.signal]) : this.#leaving.signal;
    const left = (): RunAgentToolResult => ({ runId, agentType, status: "aborted", error: "The agent was unloaded" });
    let child: AgentToolChildStub | undefined;
    try {
      child = await this.#host.child(agentType, runId);
      if (stop.aborted) throw stop.reason;
      if (start) {
        await child.startAgentToolRun(start.input, { runId });
        if (this.#leaving.signal.aborted) return left();
        this.store.markRunning(runId);
      }
      let after = start ? -1 : this.store.lastSequence(runId) - 1;
      for (;;) {
        const pulled = await untilStopped(child.pullAgentToolChunks(runId, { afterSequence: after }), stop);
        if (this.#leaving.signal.aborted) return left();
        if (pulled === LEFT) throw stop.reason;
        for (const chunk of pulled.chunks) {
          this.store.addEvent(runId, chunk.sequence + 1, chunk.body);
          this.#broadcast(run.parentToolCallId, chunk.sequence + 1, { kind: "chunk", runId, body: chunk.body });
          after = chunk.sequence;
        }
        if (pulled.done) break;
      }
      const inspection = await child.inspectAgentToolRun(runId);
      if (this.#leaving.signal.aborted) return left();
      if (!inspection) return this.#finish(run, { runId, agentType, status: "error", error: `The child ${agentType} has no record of run ${runId}` });
      return this.#finish(run, fromInspection(agentType, inspection));
    } catch (error) {
      if (this.#leaving.signal.aborted) return left();
      if (signal?.aborted) {
        await child?.cancelAgentToolRun(runId, reasonText(signal.reason)).catch((e: unknown) => this.#host.report(e));
        return this.#finish(run, { runId, agentType, status: "aborted", error: reasonText(signal.reason) });
      }
      return this.#finish(run, { runId, agentType, status: "error", error: messageOf(error) });
    }
  }

  /** Stores the end (a hard end stored before wins), tells the clients and `onAgentToolFinish`. */
  async #finish(run: AgentToolRunInfo, result: RunAgentToolResult): Promise<RunAgentToolResult> {
    const completedAt = this.#host.now();
    if (!this.store.finish(result, completedAt)) {
      const stored = this.store.get(run.runId);
      return stored ? resultOf(stored) : result;
    }
    this.#broadcast(run.parentToolCallId, this.store.lastSequence(run.runId) + 1, terminalEvent(result)!);
    await this.#hook(() => this.#host.finished({ ...run, status: result.status, completedAt }, result));
    return result;
  }

  async #hook(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#host.report(error);
    }
  }

  #broadcast(parentToolCallId: string | undefined, sequence: number, event: Parameters<typeof agentToolFrame>[2]): void {
    const frame = agentToolFrame(parentToolCallId, sequence, event);
    for (const connection of this.#host.connections()) {
      if (connection.record.protocol && connection.record.connected) connection.send(frame);
    }
  }
}

function checkRunId(agentType: string, runId: unknown): asserts runId is string {
  if (typeof runId !== "string" || runId.length === 0) throw new TypeError("runAgentTool: runId must be a non-empty string");
  const length = agentType.length + 1 + runId.length;
  if (length > AGENT_TOOL_LIMITS.maxFacetNameLength) {
    throw new RangeError(`runAgentTool: runId is ${runId.length} characters; with the class name "${agentType}" it makes a facet name of ${length}, over the limit of ${AGENT_TOOL_LIMITS.maxFacetNameLength} (maxFacetNameLength)`);
  }
}

/** Waits for `pending` unless `stop` aborts first (then the pending call is left to end on its own). */
function untilStopped<T>(pending: Promise<T>, stop: AbortSignal): Promise<T | typeof LEFT> {
  pending.catch(() => {});
  if (stop.aborted) return Promise.resolve(LEFT);
  return new Promise((resolve, reject) => {
    const onStop = () => resolve(LEFT);
    stop.addEventListener("abort", onStop, { once: true });
    pending.then(
      (value) => {
        stop.removeEventListener("abort", onStop);
        resolve(value);
      },
      (error: unknown) => {
        stop.removeEventListener("abort", onStop);
        reject(error);
      },
    );
  });
}

function preview(input: unknown): unknown {
  const max = AGENT_TOOL_LIMITS.inputPreviewChars;
  if (typeof input === "string") return input.slice(0, max);
  if (input === null || input === undefined) return input;
  try {
    const json = JSON.stringify(input);
    return json.length > max ? `${json.slice(0, max - 3)}...` : json;
  } catch {
    return String(input).slice(0, max);
  }
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? "cancelled" : String(reason);
}

function interrupted(run: AgentToolRunInfo, reason: "not-tailable" | "inspect-failed", error: string): RunAgentToolResult {
  return { runId: run.runId, agentType: run.agentType, status: "interrupted", error, reason, childStillRunning: false };
}

function fromInspection(agentType: string, inspection: AgentToolRunInspection): RunAgentToolResult {
  const { runId } = inspection;
  if (inspection.status === "completed") {
    return { runId, agentType, status: "completed", ...(inspection.output !== undefined ? { output: inspection.output } : {}), summary: inspection.summary ?? "" };
  }
  if (inspection.status === "aborted") return { runId, agentType, status: "aborted", ...(inspection.error !== undefined ? { error: inspection.error } : {}) };
  return { runId, agentType, status: "error", error: inspection.error ?? "Agent tool run failed" };
}

function resultOf(run: StoredRun): RunAgentToolResult {
  return {
    runId: run.runId,
    agentType: run.agentType,
    status: run.status as RunAgentToolResult["status"],
    ...(run.output !== undefined ? { output: run.output } : {}),
    ...(run.summary !== undefined ? { summary: run.summary } : {}),
    ...(run.error !== undefined ? { error: run.error } : {}),
    ...(run.reason !== undefined ? { reason: run.reason } : {}),
    ...(run.childStillRunning !== undefined ? { childStillRunning: run.childStillRunning } : {}),
  };
}
