import pg from "pg";
import type { Clock } from "../../time/clock.ts";

/** How long the listener waits before connecting again after its connection was lost or refused. */
export const SECRET_LISTEN_RETRY_MS = 1_000;

export interface SecretWatchOptions {
  pool: pg.Pool;
  /** The channel writers notify (see secretTables). */
  channel: string;
  clock: Clock;
  /** How often the generation is compared; 0 turns the poll off. */
  pollIntervalMs: number;
  /** Whether to LISTEN; off behind a pooler that cannot (PgBouncer in transaction mode), then only the poll runs. */
  listen: boolean;
  /** A notification arrived with this payload (`<env>:<generation>`), or the listener (re)connected (undefined: anything may have changed). */
  onNotice(payload: string | undefined): void;
  /** One poll: compare the generation and refresh when it moved. */
  poll(): Promise<void>;
  /** A background failure (connecting, polling); the watch keeps trying. */
  onError(error: unknown): void;
}

/**
 * Keeps a node's copy of the secrets fresh: a dedicated connection LISTENs on the channel every writer
 * notifies at commit, and a poll compares the environment's generation every `pollIntervalMs` in case
 * a notification was lost (the listener's connection dropped, a pooler in between). After the listener
 * reconnects it asks for a refresh, since notifications sent while it was away are gone.
 */
export class SecretWatch {
  readonly #options: SecretWatchOptions;
  #client: pg.Client | undefined;
  #cancelPoll: (() => void) | undefined;
  #cancelRetry: (() => void) | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: SecretWatchOptions) {
    this.#options = options;
  }

  /** Connects the listener (resolves once it listens, or once the first attempt failed) and arms the poll. */
  async start(): Promise<void> {
    this.#armPoll();
    if (this.#options.listen) await this.#connect(false);
  }

  /** Stops the poll and ends the listener's connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelPoll?.();
    this.#cancelRetry?.();
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #armPoll(): void {
    const { clock, pollIntervalMs } = this.#options;
    if (this.#closed || pollIntervalMs <= 0) return;
    this.#cancelPoll = clock.setTimer(clock.now() + pollIntervalMs, async () => {
      this.#cancelPoll = undefined;
      try {
        if (!this.#closed) await this.#options.poll();
      } catch (error) {
        if (!this.#closed) this.#options.onError(error);
      }
      this.#armPoll();
    });
  }

  #connect(reconnected: boolean): Promise<void> {
    this.#connecting = this.#listen(reconnected).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #listen(reconnected: boolean): Promise<void> {
    const base = this.#options.pool.options;
    const client = new pg.Client({ ...base, application_name: `${base.application_name ?? "hearth"}-secrets` });
    // Without a listener an 'error' event would end the process; both events mean the connection is gone.
    client.on("error", () => this.#lost(client));
    client.on("end", () => this.#lost(client));
    client.on("notification", (message) => {
      if (message.channel === this.#options.channel && !this.#closed) this.#options.onNotice(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
    } catch (error) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#options.onError(error);
      this.#retry();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    if (reconnected) this.#options.onNotice(undefined);
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    client.removeAllListeners("notification");
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#cancelRetry !== undefined) return;
    const { clock } = this.#options;
    this.#cancelRetry = clock.setTimer(clock.now() + SECRET_LISTEN_RETRY_MS, () => {
      this.#cancelRetry = undefined;
      if (!this.#closed) void this.#connect(true);
    });
  }
}
