/**
 * Every limit Hearth enforces, with its default. Each is documented in docs/limits.md and each
 * error message names the option that raises it.
 */
export const LIMITS = {
  /**
   * Largest WebSocket frame an agent accepts, Cloudflare's 32 MiB (a chat client sends the whole
   * conversation in every request); bigger frames get an error reply, the socket stays open.
   */
  maxMessageBytes: 32 * 1024 * 1024,
  /** Frames above `hardMaxMessageBytes(maxMessageBytes)` are not even buffered: the socket is closed with 1009. */
  hardMaxMessageBytesFloor: 16 * 1024 * 1024,
  /** Longest agent instance name, in UTF-8 bytes. */
  maxNameBytes: 4096,
  /** Largest per-connection state (`conn.setState`), JSON-encoded, kept across hibernation. */
  maxConnectionStateBytes: 16 * 1024,
  /** What a client may send on a new WebSocket before the agent's onConnect ended (held until then); more closes it with 1009. */
  maxBytesWhileConnecting: 4 * 1024 * 1024,
  /** Open WebSockets per agent instance. */
  maxConnectionsPerAgent: 32_768,
  /** Idle time after which an agent leaves memory and its database is closed. */
  hibernateAfterMs: 10_000,
  /**
   * Time without an incoming event after which an agent kept from hibernating only by timers its code
   * set (setTimeout, setInterval) leaves memory all the same; its timers are cancelled. Cloudflare
   * evicts such a Durable Object after 70–140 s.
   */
  evictAfterMs: 70_000,
  /**
   * How long `Host.close()` waits, at most, for the agent files it closed that were written without
   * fsync (relaxed durability) to be made durable; what is left then is settled by the next process.
   */
  closeSettleWithinMs: 10_000,
  /**
   * An in-memory agent's SQLite connection unused for one to two of these periods is closed (parked)
   * and reopened by its next statement: an idle live agent then costs its JS objects, not ~180 KB of
   * SQLite. 0 keeps connections open.
   */
  parkIdleConnectionAfterMs: 1_000,
  /**
   * While more than this many SQLite connections are open in the process, those opened and not used
   * again (no rhythm or streak yet) are also swept every `parkCrowdedConnectionAfterMs`: each open
   * connection makes every open in the process dearer (SQLite's default VFS walks its list of open
   * files) and holds ~150 KB. With several threads each thread takes its share.
   */
  crowdedOpenConnections: 256,
  /** The sweep period while connections are crowded (see `crowdedOpenConnections`). */
  parkCrowdedConnectionAfterMs: 100,
  /**
   * Most open SQLite connections when the process's descriptor limit cannot be read; otherwise the
   * cap follows what that limit leaves after sockets (storage/descriptor-budget.ts), or is set
   * (`setOpenConnectionCap`). Above it idle connections are parked.
   */
  maxOpenConnectionsFallback: 4_096,
  /**
   * A connection used again after an idle gap of up to this long stays open for 1.5 times that gap
   * before it is parked: an agent with traffic every few seconds does not reopen its file each time.
   */
  keepRhythmUpToMs: 15_000,
  /**
   * A quiet session (a settled file reopened with relaxed durability: no fsync while it is open) whose
   * WAL grows past this many bytes starts checkpointing with syncs, as any other session.
   */
  quietWalBytes: 16 * 1024 * 1024,
  /**
   * How long an agent file's open waits for a lock another connection of this process holds on a file
   * written without fsync: after a crash, the settle of a killed process's files (run by whichever
   * thread first creates an agent file) checkpoints each with a connection of its own. Any other lock
   * is refused at once (a second Hearth on the same data directory).
   */
  unsettledFileLockWaitMs: 5_000,
  /** Agents kept in memory at once; above it the least recently used idle agents hibernate early. Open files are bounded apart from it (`setOpenConnectionCap`). */
  maxLiveAgents: 16_384,
  /**
   * Largest request body the HTTP server takes, as on Cloudflare (100 MB on the Free and Pro plans):
   * a larger declared length is refused with 413 before anything is read, a chunked body fails once
   * past it (`serve({ maxRequestBodyBytes })`).
   */
  maxRequestBodyBytes: 100 * 1024 * 1024,
  /** Largest request line plus headers the HTTP server reads (Node's `maxHeaderSize`); Cloudflare takes 128 KB of headers. Past it: 431. */
  maxRequestHeaderBytes: 128 * 1024,
  /** How much of the body of a refused WebSocket upgrade's response is read and sent: an error page, not a download. */
  maxRefusedUpgradeBodyBytes: 64 * 1024,
  /**
   * How long the HTTP server keeps an idle keep-alive connection open: longer than a proxy in front
   * keeps its idle upstream connections (nginx: 60 s), so that the proxy, not the server, closes them
   * and never sends a request on a connection the server is closing (a sporadic 502).
   */
  keepAliveTimeoutMs: 65_000,
  /** Time a client has to send a request's headers (408 past it); kept above `keepAliveTimeoutMs`, the usual pairing behind a proxy or load balancer. */
  headersTimeoutMs: 66_000,
  /** Largest agent state (`setState`), JSON-encoded. Stored in chunks, so far above SQLite's row size. */
  maxStateBytes: 256 * 1024 * 1024,
  /** Largest payload of a schedule or queue item, JSON-encoded. */
  maxTaskPayloadBytes: 8 * 1024 * 1024,
  /** Shortest `scheduleEvery` interval, in seconds. */
  minIntervalSeconds: 0.001,
  /** A scheduled or queued callback still running after this long is reported as hung and retried. */
  hungTaskAfterMs: 15 * 60_000,
  /** Runs of one task in a row that never finished (process crash or hang) before the breaker stops it. */
  crashLoopLimit: 5,
  /** Agents whose due tasks run at the same time. */
  taskConcurrency: 256,
  /** Largest workflow params (`create({ params })`), structured-clone bytes. */
  maxWorkflowParamsBytes: 16 * 1024 * 1024,
  /** Largest result of one `step.do` and largest workflow output, structured-clone bytes. */
  maxStepResultBytes: 64 * 1024 * 1024,
  /** Largest payload of a workflow event (`sendEvent`). */
  maxWorkflowEventBytes: 16 * 1024 * 1024,
  /** Steps (do, sleep, waitForEvent) one instance may record. */
  maxStepsPerInstance: 100_000,
  /** Longest step name, in characters. */
  maxStepNameLength: 1024,
  /** Workflow instances executing at once; the rest wait their turn (sleeping ones do not count). */
  maxRunningWorkflows: 10_000,
  /** Heap of one sandbox (`Sandbox` / `WorkerLoader` option `memoryBytes`). */
  sandboxMemoryBytes: 32 * 1024 * 1024,
  /** The largest `memoryBytes` a sandbox takes: 1 GiB (its WebAssembly instance holds 2 GiB at most). */
  sandboxMaxMemoryBytes: 1024 * 1024 * 1024,
  /** CPU budget of one sandbox call: time spent running sandboxed code (option `cpuMs`). */
  sandboxCpuMs: 50,
  /** Wall-clock time of one sandbox call, including awaited host calls (option `wallMs`). */
  sandboxWallMs: 5_000,
  /** Console output plus the JSON result of one sandbox call (option `maxOutputBytes`). */
  sandboxMaxOutputBytes: 1024 * 1024,
  /** Largest message between a sandbox and the host: capability arguments/results, fetch bodies. */
  maxHostCallBytes: 8 * 1024 * 1024,
  /** Host calls (capabilities, fetch) one sandbox may have in flight. */
  maxPendingHostCalls: 1_000,
  /** QuickJS stack of one sandbox; deeper recursion throws a RangeError inside the sandbox. */
  sandboxStackBytes: 48 * 1024,
  /** Loaded workers `WorkerLoader` keeps warm; the least recently used is disposed above it. */
  maxWarmWorkers: 256,
} as const;

/** Frames above this are not buffered (the socket is closed with 1009): 1 MiB over the frame limit, at least `hardMaxMessageBytesFloor`. */
export function hardMaxMessageBytes(maxMessageBytes: number): number {
  return Math.max(LIMITS.hardMaxMessageBytesFloor, maxMessageBytes + 1024 * 1024);
}

/** Durability of agent storage. See docs/decisions/0002-durability.md. */
export type Durability = "strict" | "relaxed";
