import { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { runInAgentScope, type AgentCaller } from "../agent/context.ts";
import { RUNTIME, type AgentContextWithRuntime, type AgentRuntime } from "../agent/runtime.ts";
import type { Actor } from "../host/actor.ts";
import { currentEvent } from "../host/event-context.ts";
import { instrumentActorEvent } from "../agent/instrumentation.ts";
import { AgentTasks } from "../schedule/agent-tasks.ts";
import type { Schedule } from "../schedule/types.ts";
import { runAsSocketOwner, type SocketOwner } from "../websocket/owner.ts";
import { ALARM_CALLBACK, DurableAlarm, type AlarmInvocationInfo } from "./alarm.ts";
import { droppingUnusedSockets } from "../websocket/handed-out.ts";
import { webSocketOfResponse } from "../websocket/response.ts";
import type { WorkersWebSocket } from "../websocket/socket.ts";
import { AcceptedEnds } from "./accepted-ends.ts";
import { HibernatableSockets } from "./hibernation.ts";
import { DurableObjectId } from "./id.ts";
import type { DurableObjectNamespace } from "./namespace.ts";
import { CONSTRUCTOR_BLOCKS, DurableObjectState } from "./state.ts";

/** The handlers a Durable Object class may define. */
export interface DurableObjectHandlers {
  fetch?(request: Request): Response | Promise<Response>;
  alarm?(alarmInfo?: AlarmInvocationInfo): unknown;
  webSocketMessage?(ws: unknown, message: string | ArrayBuffer): unknown;
  webSocketClose?(ws: unknown, code: number, reason: string, wasClean: boolean): unknown;
  webSocketError?(ws: unknown, error: unknown): unknown;
}

export type DurableObjectConstructor = new (ctx: DurableObjectState, env: unknown) => DurableObjectHandlers;

/** Names RPC may not call: the constructor and the handlers the runtime itself invokes. */
const NOT_CALLABLE = new Set(["constructor", "alarm", "webSocketMessage", "webSocketClose", "webSocketError"]);
/** Key in `_hearth_meta` of the name an object was first reached by. */
const NAME_KEY = "durable-object-name";

/**
 * One live plain Durable Object as the host drives it: the host's events become the class's `fetch`,
 * RPC methods, `alarm` and `webSocket*` handlers, run in the object's scope so sockets it accepts and
 * messages it sends pass its gates.
 */
export class DurableObjectActor implements Actor {
  readonly #runtime: AgentRuntime;
  readonly #object: DurableObjectHandlers & Record<string, unknown>;
  readonly #sockets: HibernatableSockets;
  readonly #accepted = new AcceptedEnds();
  readonly #alarm: DurableAlarm;
  readonly #owner: SocketOwner;
  #tasks: AgentTasks | undefined;
  #startup: Array<Promise<unknown>> = [];
  /** Out of memory: events of its `accept()`ed sockets no longer reach it. */
  #unloaded = false;

  constructor(ctor: DurableObjectConstructor, ctx: AgentContextWithRuntime, env: Record<string, unknown>, namespace: DurableObjectNamespace) {
    const runtime = ctx[RUNTIME];
    this.#runtime = runtime;
    this.#sockets = new HibernatableSockets(runtime, this.#accepted);
    this.#alarm = new DurableAlarm(
      () => this[HANDLE.tasks](),
      () => typeof (this.#object ?? (ctor.prototype as DurableObjectHandlers)).alarm === "function",
      () => runtime.clock.now(),
    );
    this.#owner = {
      run: (event) => {
        if (this.#unloaded) return;
        runtime.blockConcurrencyWhile(async () => this.#scoped(() => this.#owningSockets(event))).catch((error: unknown) => this.onError(error));
      },
      output: (send, dropped) => holdOutput(runtime, send, dropped),
      hold: (end) => this.#accepted.holdOpen(end, runtime.keepAlive()),
      reportError: (error) => this.onError(error),
    };
    const state = new DurableObjectState({
      runtime,
      id: runtime.childId === undefined ? new DurableObjectId(runtime.name, nameOf(runtime, namespace)) : childIdOf(runtime.childId),
      alarm: this.#alarm,
      sockets: this.#sockets,
      exports: runtime.exports,
      props: undefined,
    });
    this.#object = this.#scoped(() => new ctor(state, env)) as DurableObjectHandlers & Record<string, unknown>;
    this.#startup = state[CONSTRUCTOR_BLOCKS] ?? [];
    state[CONSTRUCTOR_BLOCKS] = undefined;
  }

  /** Start-up waits for what the constructor ran under blockConcurrencyWhile: if that failed, so does the start. */
  async [HANDLE.start](): Promise<void> {
    const blocks = this.#startup;
    this.#startup = [];
    for (const block of blocks) await block;
  }

  async [HANDLE.request](request: Request): Promise<Response> {
    const fetch = this.#object.fetch;
    if (typeof fetch !== "function") throw new TypeError(`${this.#runtime.className} has no fetch() handler.`);
    const event = currentEvent();
    let response: unknown;
    try {
      response = await this.#scoped(() =>
        this.#owningSockets(() => this.#traced("fetch", undefined, () => fetch.call(this.#object, request)), webSocketOfResult),
      );
      if (!(response instanceof Response)) {
        throw new TypeError(`${this.#runtime.className}.fetch() must return a Response, got ${typeof response}`);
      }
      return response;
    } finally {
      // Sockets it accepted whose other end it did not return can never be reached: they close.
      if (event) this.#accepted.closeUnreachable(event, response instanceof Response ? webSocketOfResponse(response) : undefined);
    }
  }

  async [HANDLE.connect](): Promise<void> {
    throw new TypeError(`${this.#runtime.className} is a Durable Object: it accepts WebSockets in fetch() with WebSocketPair`);
  }

  async [HANDLE.message](record: SocketRecord, message: string | ArrayBuffer): Promise<void> {
    await this.#socketHandler("webSocketMessage", record, message);
  }

  async [HANDLE.close](record: SocketRecord, code: number, reason: string, wasClean: boolean): Promise<void> {
    await this.#socketHandler("webSocketClose", record, code, reason, wasClean);
  }

  async [HANDLE.socketError](record: SocketRecord, error: unknown): Promise<void> {
    await this.#socketHandler("webSocketError", record, error);
  }

  async [HANDLE.invoke](method: string, args: unknown[], caller?: AgentCaller): Promise<unknown> {
    const fn = this.#object[method];
    // Methods every object inherits (toString, hasOwnProperty…) are not the class's RPC interface.
    if (typeof fn !== "function" || NOT_CALLABLE.has(method) || fn === (Object.prototype as Record<string, unknown>)[method]) {
      throw new TypeError(`The RPC receiver does not implement the method "${method}".`);
    }
    return await this.#scoped(() => this.#owningSockets(() => this.#traced("rpc", method, () => fn.apply(this.#object, args))), caller);
  }

  [HANDLE.invalidate](): void {
    this.#tasks?.invalidate();
  }

  [HANDLE.tasks](): AgentTasks {
    this.#tasks ??= new AgentTasks(
      this.#runtime,
      { [ALARM_CALLBACK]: (_payload: unknown, schedule: Schedule) => this.#runAlarm(schedule) },
      (error) => void this.onError(error),
    );
    return this.#tasks;
  }

  /** Its `accept()`ed sockets kept it from hibernating: it is stopped (a facet aborted or deleted, the host closing), so they close. */
  [HANDLE.unload](): void {
    this.#unloaded = true;
    this.#accepted.closeOpen(this.#runtime.lineage.path.length > 0 ? "Facet stopped" : "Durable Object stopped");
  }

  [HANDLE.scoped]<T>(fn: () => T): T {
    return this.#scoped(fn);
  }

  onError(error: unknown): void {
    console.error(`[hearth] ${this.#runtime.className}/${this.#runtime.name}:`, error);
  }

  async #runAlarm(schedule: Schedule): Promise<void> {
    const alarm = this.#object.alarm;
    if (typeof alarm !== "function") {
      // Set by an earlier version of the class that had a handler: retrying cannot help, so it is dropped.
      console.warn(`[hearth] ${this.#runtime.className}/${this.#runtime.name}: an alarm was due but the class has no alarm() handler; it is dropped`);
      return;
    }
    await this.#alarm.run(schedule, (info) => this.#owningSockets(() => alarm.call(this.#object, info)));
  }

  /** Runs one event of the object inside a span named after it (nothing more while tracing is off). */
  #traced<T>(event: string, detail: string | undefined, fn: () => T): T {
    return instrumentActorEvent(this.#runtime.className, this.#runtime.name, event, detail, fn);
  }

  async #socketHandler(handler: "webSocketMessage" | "webSocketClose" | "webSocketError", record: SocketRecord, ...args: unknown[]): Promise<void> {
    const fn = this.#object[handler];
    const ws = this.#sockets.objectOf(record);
    if (typeof fn !== "function" || ws === undefined) return;
    try {
      await this.#scoped(() =>
        this.#owningSockets(() => this.#traced(handler, undefined, () => (fn as (...a: unknown[]) => unknown).call(this.#object, ws, ...args))),
      );
    } catch (error) {
      // No caller waits for a socket event: log it, and fail the event (its writes and messages are dropped).
      this.onError(error);
      throw error;
    }
  }

  /**
   * Runs one event of the object's code as the owner of the 101 responses it gets from stubs: when it
   * ends, the WebSockets of those it neither returned (`returnedOf` its result) nor accepted are
   * dropped, so the object that answered them sees them close (websocket/handed-out.ts).
   */
  #owningSockets<T>(fn: () => T, returnedOf?: (result: Awaited<T>) => WorkersWebSocket | undefined): Promise<Awaited<T>> {
    return droppingUnusedSockets<Awaited<T>>(fn as () => Promise<Awaited<T>>, returnedOf, currentEvent());
  }

  #scoped<T>(fn: () => T, caller?: AgentCaller): T {
    const runtime = this.#runtime;
    return runInAgentScope({ agent: this.#object ?? this, runtime, className: runtime.className, name: runtime.name, caller }, () =>
      runAsSocketOwner(this.#owner, fn),
    );
  }
}

/**
 * The output gate for a message sent during an event: it leaves once the event's writes commit, and
 * never if the event fails (`dropped` then runs). Storage holds output only while a transaction is
 * open, so the event's transaction is opened first: a message sent before a write that then fails
 * shares its fate.
 */
function holdOutput(runtime: AgentRuntime, send: () => void, dropped: (() => void) | undefined): void {
  const db = runtime.db;
  if (db.isOpen && currentEvent() !== undefined) db.joinTransaction();
  db.output(send, dropped);
}

/** The WebSocket a `fetch` handler's result hands out, if it is a 101. */
function webSocketOfResult(result: unknown): WorkersWebSocket | undefined {
  return result instanceof Response ? webSocketOfResponse(result) : undefined;
}

/** The name an object's id was made from: known to the namespace that made it, else stored by an earlier start. */
function nameOf(runtime: AgentRuntime, namespace: DurableObjectNamespace): string | undefined {
  const db = runtime.db;
  const stored = db.statement("SELECT value FROM _hearth_meta WHERE key = ?").get(NAME_KEY)?.value as string | undefined;
  if (stored !== undefined) return stored;
  const known = namespace.nameOf(runtime.name);
  if (known !== undefined) db.statement("INSERT INTO _hearth_meta (key, value) VALUES (?, ?)").run(NAME_KEY, known);
  return known;
}

/** A facet's id as its parent gave it (an id object or a string), or as its file recorded it. */
function childIdOf(id: unknown): DurableObjectId {
  if (id instanceof DurableObjectId) return id;
  if (typeof id === "string") return new DurableObjectId(id);
  const { hex, name } = id as { hex?: string; name?: string };
  return new DurableObjectId(hex ?? name ?? "", name);
}
