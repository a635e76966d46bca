/**
 * hearth/testing: run agents in-process on a temporary data directory, talk to them over real HTTP
 * and WebSockets on loopback, and move a virtual clock so schedules, cron, queues, retries and
 * backoff fire deterministically, in milliseconds.
 * @example
 * import { createTestEnv } from "hearth/testing";
 * const t = await createTestEnv({ agents: { Reminder } });
 * const alice = t.get<Reminder>("Reminder", "alice");
 * await alice.remindIn(86_400, "renew the domain");
 * await t.clock.advance("1 day");
 * expect(await alice.sent()).toEqual(["renew the domain"]);
 * await t.close();
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Agent } from "../platform/agent.ts";
import { AgentClient, type AgentSocketOptions } from "../client/agent-client.ts";
import type { UntypedMethods } from "../client/stub.ts";
import { serve, type HearthServer, type WorkerFetch } from "../gateway/serve.ts";
import { Host, type AgentClass, type HostOptions } from "../platform/host.ts";
import type { AgentNamespace, AgentStub } from "../host/namespace.ts";
import { systemClock, VirtualClock } from "../time/clock.ts";
import type { Duration } from "../time/duration.ts";
import type { WorkflowClass } from "../workflow/entrypoint.ts";

export { VirtualClock, type Clock } from "../time/clock.ts";
export { parseDuration, type Duration } from "../time/duration.ts";

export interface TestEnvOptions {
  /** Agent classes by binding name, as in the entry's `agents` export. */
  agents: Record<string, AgentClass>;
  /** Workflow classes by binding name. */
  workflows?: Record<string, WorkflowClass>;
  /** Variables for `env`. */
  vars?: Record<string, string>;
  /** `"virtual"` (default): time moves only through `clock.advance()`. `"system"`: real time. */
  time?: "virtual" | "system";
  /** Where virtual time starts. Default: now. */
  start?: Date | number;
  /** Make `Date.now()` and `new Date()` follow virtual time. Default true (with virtual time). */
  patchDate?: boolean;
  /** Keep data here instead of a fresh temporary directory (which `close()` removes). */
  dataDir?: string;
  /** The worker fetch used for `fetch()` and `connect()`. Default: routeAgentRequest. */
  fetch?: WorkerFetch;
  /** Other host options (durability, hibernateAfterMs, hungTaskAfterMs, crashLoopLimit, …). */
  host?: Omit<HostOptions, "agents" | "workflows" | "dataDir" | "vars" | "clock">;
}

/** The test clock: virtual time that only moves when told. */
export interface TestClock {
  /** Current virtual time. */
  now(): Date;
  /**
   * Moves time forward, firing every schedule, cron run, queue item and retry that falls due, in
   * time order, and waits until their callbacks finished. A callback that throws does not reject it:
   * the error goes to the agent's `onError`, the failure to `getTaskFailures()` after its last attempt.
   * @example await t.clock.advance("1 day"); await t.clock.advance(30_000);
   */
  advance(by: Duration): Promise<void>;
  /** Moves time to `date` (never backwards), as `advance` does. */
  advanceTo(date: Date | number): Promise<void>;
  /** Runs what is already due (queue items, overdue schedules) and waits for it. */
  settle(): Promise<void>;
}

export interface TestEnv {
  /** The bindings an agent or worker sees as `env`. */
  readonly env: Record<string, unknown>;
  /** The host running the agents (replaced by `restart()`). */
  readonly host: Host;
  readonly clock: TestClock;
  readonly dataDir: string;
  /** A typed stub: every method of the agent, as a promise. */
  get<T extends Agent = Agent>(binding: string, name: string): AgentStub<T>;
  /** An HTTP request through the real server on loopback; `path` like "/agents/counter/a". */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A `hearth/client` AgentClient over a real WebSocket, resolved once the agent identified itself;
   * rejected with the close code and reason if the connection closes first (`onConnect` threw).
   */
  connect<State = unknown, Methods extends object = UntypedMethods>(
    binding: string,
    name: string,
    options?: Omit<AgentSocketOptions<State>, "agent" | "name">,
  ): Promise<AgentClient<State, Methods>>;
  /** Base URL of the loopback server (started on first use). */
  url(): Promise<string>;
  /** Hibernates every idle agent now; returns how many. */
  hibernate(): number;
  /**
   * Closes the host as a shutdown would and starts a new one on the same data and clock; with
   * `downFor`, virtual time moves on while it is down, and what was due meanwhile runs at the
   * restart, which returns once it has (as `advance` does).
   */
  restart(options?: { downFor?: Duration }): Promise<void>;
  /**
   * Closes clients, server and host (waiting up to `drainMs`, default 1 s, for running events);
   * restores `Date`; removes the temporary data directory. Every step runs even if one fails.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/**
 * Starts agents for a test. Each environment has its own data directory and clock.
 * @example
 * const t = await createTestEnv({ agents: { Counter } });
 * const client = await t.connect<{ count: number }>("Counter", "a");
 * await client.call("increment", [1]);
 * await t.close();
 */
export async function createTestEnv(options: TestEnvOptions): Promise<TestEnv> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "hearth-test-"));
  const virtual = (options.time ?? "virtual") === "virtual";
  const virtualClock = virtual
    ? new VirtualClock({ start: options.start, patchDate: options.patchDate ?? true })
    : undefined;
  const makeHost = () =>
    new Host({
      ...options.host,
      agents: options.agents,
      ...(options.workflows ? { workflows: options.workflows } : {}),
      vars: options.vars,
      dataDir,
      clock: virtualClock ?? systemClock,
    });
  let host: Host;
  try {
    host = makeHost();
  } catch (error) {
    // A class the host refuses (say, a wrong `static options`): leave Date and the disk as they were.
    virtualClock?.dispose();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  // Time moves on only once what the last step woke (tasks, workflow instances) has settled.
  if (virtualClock) virtualClock.waitForIdle = () => host.tasksIdle();
  let server: HearthServer | undefined;
  const clients = new Set<AgentClient<never, object>>();

  const url = async () => {
    server ??= await serve({ host, port: 0, ...(options.fetch ? { fetch: options.fetch } : {}) });
    return server.url;
  };
  const closeNetwork = async () => {
    for (const client of clients) client.close();
    clients.clear();
    await server?.close();
    server = undefined;
  };
  const settled = async () => {
    await host.tasksIdle();
  };
  const clock: TestClock = {
    now: () => new Date((virtualClock ?? systemClock).now()),
    async advance(by) {
      if (!virtualClock) throw new Error("clock.advance() needs virtual time (createTestEnv({ time: \"virtual\" }))");
      await virtualClock.advance(by);
      await settled();
    },
    async advanceTo(date) {
      if (!virtualClock) throw new Error("clock.advanceTo() needs virtual time (createTestEnv({ time: \"virtual\" }))");
      await virtualClock.advanceTo(date);
      await settled();
    },
    async settle() {
      await virtualClock?.settle();
      await settled();
    },
  };

  return {
    get env() {
      return host.env;
    },
    get host() {
      return host;
    },
    clock,
    dataDir,
    get<T extends Agent = Agent>(binding: string, name: string): AgentStub<T> {
      const namespace = host.env[binding] as AgentNamespace<T> | undefined;
      if (namespace === undefined || typeof namespace.getByName !== "function") {
        throw new TypeError(`No agent binding "${binding}"; the test environment has ${Object.keys(options.agents).join(", ") || "none"}`);
      }
      return namespace.getByName(name);
    },
    async fetch(path, init) {
      return fetch(new URL(path, await url()), init);
    },
    async connect<State, Methods extends object>(
      binding: string,
      name: string,
      socketOptions: Omit<AgentSocketOptions<State>, "agent" | "name"> = {},
    ) {
      const client = new AgentClient<State, Methods>({ ...socketOptions, host: await url(), agent: binding, name });
      const held = client as unknown as AgentClient<never, object>;
      clients.add(held);
      try {
        await identified(held, `connect(${JSON.stringify(binding)}, ${JSON.stringify(name)})`);
      } catch (error) {
        clients.delete(held);
        client.close();
        throw error;
      }
      return client;
    },
    url,
    hibernate: () => host.hibernateIdleAgents(),
    async restart({ downFor } = {}) {
      if (downFor !== undefined && !virtualClock) throw new Error("restart({ downFor }) needs virtual time");
      await closeNetwork();
      await host.close();
      if (downFor !== undefined) await virtualClock!.advance(downFor);
      host = makeHost();
      // What fell due while it was down runs now, and the restart waits for it (as advance does).
      if (downFor !== undefined) await clock.settle();
    },
    async close({ drainMs = 1000 } = {}) {
      // Every step runs even if one before it fails: Date restored, the directory removed.
      await runAll([
        closeNetwork,
        () => host.close({ drainMs }),
        () => virtualClock?.dispose(),
        () => {
          if (ownDir) rmSync(dataDir, { recursive: true, force: true });
        },
      ]);
    },
  };
}

/**
 * Resolves once the agent identified itself on `client`; rejects with the close code and reason if
 * the connection closes first (the agent refused it: `onConnect` threw, …), instead of waiting
 * through the client's reconnects.
 */
function identified(client: AgentClient<never, object>, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = (event: CloseEvent) => {
      const reason = event.reason ? `: ${event.reason}` : "";
      reject(new Error(`${what}: the connection closed before the agent identified itself (code ${event.code}${reason})`));
    };
    client.addEventListener("close", onClose);
    client.ready.then(resolve, reject).finally(() => client.removeEventListener("close", onClose));
  });
}

/** Runs every step, in order, whatever the ones before did; then throws the first failure (all of them if several). */
async function runAll(steps: ReadonlyArray<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `close(): ${errors.length} steps failed`);
}
