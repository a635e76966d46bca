/**
 * Types that turn an agent class into a typed client: which members are
 * callable methods, what a client passes them, what `stub` and `call` look
 * like. Type-only, with no import from the server, so a browser bundle never
 * pulls in server code.
 */
import type { CallOptionsInput } from "./pending-calls.ts";

/**
 * Public members every agent inherits from `Agent`; typed stubs leave them
 * out, as the Agents SDK leaves out its own `Agent`'s members.
 *
 * @example
 * ```ts
 * const hidden: AgentBaseMember = "setState";
 * ```
 */
export type AgentBaseMember =
  | "name"
  | "observability"
  | "state"
  | "initialState"
  | "ctx"
  | "env"
  | "onStart"
  | "onRequest"
  | "onConnect"
  | "onMessage"
  | "onClose"
  | "onError"
  | "onStateChanged"
  | "onStateUpdate"
  | "setState"
  | "validateStateChange"
  | "sql"
  | "schedule"
  | "scheduleEvery"
  | "getScheduleById"
  | "getSchedule"
  | "listSchedules"
  | "getSchedules"
  | "cancelSchedule"
  | "queue"
  | "dequeue"
  | "dequeueAll"
  | "dequeueAllByCallback"
  | "getQueue"
  | "getQueues"
  | "getTaskFailures"
  | "resetTask"
  | "runWorkflow"
  | "getWorkflowStatus"
  | "sendWorkflowEvent"
  | "approveWorkflow"
  | "rejectWorkflow"
  | "pauseWorkflow"
  | "resumeWorkflow"
  | "terminateWorkflow"
  | "restartWorkflow"
  | "getWorkflow"
  | "getWorkflows"
  | "deleteWorkflow"
  | "deleteWorkflows"
  | "migrateWorkflowBinding"
  | "onWorkflowCallback"
  | "onWorkflowProgress"
  | "onWorkflowComplete"
  | "onWorkflowError"
  | "onWorkflowEvent"
  | "_workflow_handleCallback"
  | "_workflow_broadcast"
  | "_workflow_updateState"
  | "mcp"
  | "addMcpServer"
  | "removeMcpServer"
  | "getMcpServers"
  | "broadcastMcpServers"
  | "runFiber"
  | "startFiber"
  | "inspectFiber"
  | "inspectFiberByKey"
  | "listFibers"
  | "cancelFiber"
  | "cancelFiberByKey"
  | "deleteFibers"
  | "resolveFiber"
  | "stash"
  | "onFiberRecovered"
  | "destroy"
  | "onEmail"
  | "_onEmail"
  | "replyToEmail"
  | "sendEmail"
  | "getConnectionTags"
  | "shouldConnectionBeReadonly"
  | "shouldSendProtocolMessages"
  | "setConnectionReadonly"
  | "isConnectionReadonly"
  | "isConnectionProtocolEnabled"
  | "getCallableMethods"
  | "retry"
  | "getConnections"
  | "getConnection"
  | "broadcast"
  | "keepAlive"
  | "keepAliveWhile"
  | "subAgent"
  | "abortSubAgent"
  | "deleteSubAgent"
  | "hasSubAgent"
  | "listSubAgents"
  | "parentPath"
  | "selfPath"
  | "parentAgent"
  | "onBeforeSubAgent";

/**
 * What marks a type argument as an agent class rather than a state type:
 * `useAgent<MyAgent, MyState>()` types the stub from `MyAgent`.
 *
 * @example
 * ```ts
 * const isAgent: MyAgent extends AgentLike ? true : false = true;
 * ```
 */
export interface AgentLike {
  readonly state: unknown;
  setState(state: never): void;
}

/** The first argument of a streaming callable, which the client does not pass. */
interface StreamingLike {
  send(chunk: unknown): void;
  end(finalChunk?: unknown): void;
  error(message: string): void;
}

/**
 * The arguments a client passes to a method: its parameters, without the
 * leading `StreamingResponse` of a streaming callable.
 *
 * @example
 * ```ts
 * type Args = ClientParameters<(stream: StreamingResponse, prompt: string) => void>; // [prompt: string]
 * ```
 */
export type ClientParameters<F> = F extends (...args: infer A) => unknown
  ? A extends [StreamingLike, ...infer Rest]
    ? Rest
    : A
  : never;

type AnyFunction = (...args: never[]) => unknown;

/** The function-valued members of `T`. */
type FunctionMembers<T> = {
  [K in keyof T as K extends string ? (T[K] extends AnyFunction ? K : never) : never]: T[K];
};

/**
 * The methods of an agent class a client may call: its own methods, not
 * those every agent inherits ({@link AgentBaseMember}).
 *
 * @example
 * ```ts
 * type Callables = keyof AgentMethods<Counter>; // "increment" | "getCount" | …
 * ```
 */
export type AgentMethods<T> = Omit<FunctionMembers<T>, AgentBaseMember>;

/**
 * The agent methods whose arguments may all be left out.
 *
 * @example
 * ```ts
 * await client.call("getCount"); // allowed: getCount takes no arguments
 * ```
 */
export type OptionalAgentMethods<T> = {
  [K in keyof AgentMethods<T> as [] extends ClientParameters<AgentMethods<T>[K]> ? K : never]: AgentMethods<T>[K];
};

/**
 * The agent methods that need at least one argument.
 *
 * @example
 * ```ts
 * await client.call("rename", ["new name"]); // the argument list is required
 * ```
 */
export type RequiredAgentMethods<T> = Omit<AgentMethods<T>, keyof OptionalAgentMethods<T>>;

/** What a client's call of method `F` resolves with. */
type CallResult<F> = F extends (...args: never[]) => infer R ? Promise<Awaited<R>> : never;

/**
 * What a client's call of `T[K]` returns: a promise of the method's result.
 *
 * @example
 * ```ts
 * type Next = AgentPromiseReturnType<Counter, "increment">; // Promise<number>
 * ```
 */
export type AgentPromiseReturnType<T, K extends keyof AgentMethods<T>> = CallResult<AgentMethods<T>[K]>;

/** A stub for the methods `M`: each returns a promise of its result. */
type StubOf<M> = { [K in keyof M]: (...args: ClientParameters<M[K]>) => CallResult<M[K]> };

/**
 * Methods of an agent as functions: `await client.stub.increment(2)`.
 * Typed from an agent class (its own methods, the leading
 * `StreamingResponse` of streaming methods left out) or from an interface
 * of methods.
 *
 * @example
 * ```ts
 * const stub: AgentStub<Counter> = client.stub;
 * const next: number = await stub.increment(2);
 * ```
 */
export type AgentStub<T> = StubOf<AgentMethods<T>>;

/**
 * The stub of a client that was not told the agent's type. Results are
 * typed `any`, as in the Agents SDK, so `const n: number = await stub.count()`
 * compiles unchanged.
 *
 * @example
 * ```ts
 * const stub: UntypedAgentStub = client.stub;
 * const user = await stub.getUser("u1");
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the Agents SDK types untyped stubs' results as `any`; front ends rely on it
export type UntypedAgentStub = Record<string, (...args: unknown[]) => Promise<any>>;

/**
 * Methods of an agent as seen by a client that was not told their types
 * (the stub's type before `UntypedAgentStub`; kept for existing code).
 *
 * @example
 * ```ts
 * const client = new AgentClient<{ count: number }, UntypedMethods>({ host, agent: "Counter" });
 * ```
 */
export type UntypedMethods = Record<string, (...args: unknown[]) => unknown>;

/**
 * `call()` of a client that was not told the agent's type: any method name,
 * any arguments, a result typed by the caller.
 *
 * @example
 * ```ts
 * const call: UntypedAgentCall = client.call;
 * const n = await call<number>("increment", [1]);
 * ```
 */
export type UntypedAgentCall = <T = unknown>(method: string, args?: unknown[], options?: CallOptionsInput<T>) => Promise<T>;

/**
 * `call()` typed from an agent class: method names are its callable
 * methods, arguments and result are theirs; the argument list may be left
 * out only for methods whose arguments are all optional.
 *
 * @example
 * ```ts
 * const next = await client.call("increment", [2]); // number
 * ```
 */
export type TypedAgentCall<T> = (<K extends keyof OptionalAgentMethods<T>>(
  method: K,
  args?: ClientParameters<OptionalAgentMethods<T>[K]>,
  options?: CallOptionsInput,
) => CallResult<OptionalAgentMethods<T>[K]>) &
  (<K extends keyof RequiredAgentMethods<T>>(
    method: K,
    args: ClientParameters<RequiredAgentMethods<T>[K]>,
    options?: CallOptionsInput,
  ) => CallResult<RequiredAgentMethods<T>[K]>);

/** True when the first type argument of a client is an agent class (the Agents SDK's order). */
type IsAgentClass<A> = [A] extends [AgentLike] ? true : false;

/**
 * The state type of a client declared `<A, B>`: `B` when `A` is an agent
 * class (`<MyAgent, MyState>`), else `A` (`<MyState>` or Hearth's
 * `<MyState, MyMethods>`).
 *
 * @example
 * ```ts
 * type S = ClientState<Counter, { count: number }>; // { count: number }
 * ```
 */
export type ClientState<A, B> = IsAgentClass<A> extends true ? B : A;

/**
 * The default second type argument of a client: the agent's own state type
 * for an agent class, otherwise nothing (an untyped stub).
 *
 * @example
 * ```ts
 * type S = DefaultClientState<Counter>; // Counter["state"]
 * ```
 */
export type DefaultClientState<A> = [A] extends [AgentLike] ? A["state"] : unknown;

/** The `stub` type of a client declared `<A, B>`. */
export type ClientStub<A, B> =
  IsAgentClass<A> extends true
    ? keyof AgentMethods<A> extends never
      ? UntypedAgentStub
      : AgentStub<A>
    : keyof FunctionMembers<B> extends never
      ? UntypedAgentStub
      : StubOf<FunctionMembers<B>>;

/** The `call` type of a client whose first type argument is `A`: typed for an agent class, untyped otherwise. */
export type ClientCall<A> =
  IsAgentClass<A> extends true ? (keyof AgentMethods<A> extends never ? UntypedAgentCall : TypedAgentCall<A>) : UntypedAgentCall;

/**
 * Refuses, at compile time, a first type argument that is not an agent
 * class where one is required (the `<AgentT, State>` overloads); such calls
 * fall through to Hearth's `<State, Methods>` form.
 */
export type AgentClassGuard<A> = [A] extends [AgentLike] ? unknown : { readonly "AgentT must be an agent class": never };
