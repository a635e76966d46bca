import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import type pg from "pg";
import { checkout } from "../pg/pool.ts";

/** How long after losing its connection the listener connects again, in real ms. */
export const QUEUE_LISTEN_RETRY_MS = 1_000;

/** Options of {@link QueueListener}. */
export interface QueueListenerOptions {
  pool: pg.Pool;
  /** The LISTEN/NOTIFY channel (see queueChannel). */
  channel: string;
  /**
   * How often every queue is looked at anyway, in real ms: the fallback for missed notifications (real
   * time, not the store's clock: it stands in for the network, and a test's clock moving days at once
   * must not run thousands of polls).
   */
  pollMs: number;
  /** Called with the queue a notification names, or undefined for "any queue" (poll, reconnect). */
  wake: (queue: string | undefined) => void;
}

/**
 * Tells this node's consumers when messages arrive on other nodes: LISTENs on the queues' channel on
 * a connection of its own (held out of the pool for as long as it runs), and wakes every queue each
 * `pollMs` in case a notification was missed (one sent while the connection was down). When the
 * connection fails it connects again and wakes every queue.
 */
export class QueueListener {
  readonly #options: QueueListenerOptions;
  #client: pg.PoolClient | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: QueueListenerOptions) {
    this.#options = options;
  }

  /** Connects and starts the poll. */
  start(): void {
    this.#connecting = this.#connect();
    this.#poll = setInterval(() => this.#options.wake(undefined), this.#options.pollMs);
    this.#poll.unref();
  }

  /** Stops listening and polling, and gives the connection back to the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#poll);
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    try {
      await client.query(`UNLISTEN "${this.#options.channel}"`);
      this.#release(client);
    } catch (error) {
      this.#release(client, error);
    }
  }

  async #connect(): Promise<void> {
    let client: pg.PoolClient | undefined;
    try {
      client = await checkout(this.#options.pool);
      const listening = client;
      listening.on("notification", this.#onNotification);
      listening.on("error", this.#onError);
      listening.on("end", this.#onEnd);
      await listening.query(`LISTEN "${this.#options.channel}"`);
      if (this.#closed) return this.#release(listening);
      this.#client = listening;
      // Whatever was sent while this node was not listening is found now.
      this.#options.wake(undefined);
    } catch (error) {
      if (client !== undefined) this.#release(client, error);
      this.#scheduleRetry();
    } finally {
      this.#connecting = undefined;
    }
  }

  readonly #onNotification = (message: pg.Notification): void => this.#options.wake(message.payload || undefined);
  readonly #onError = (error: Error): void => this.#lost(error);
  readonly #onEnd = (): void => this.#lost(new Error("the LISTEN connection ended"));

  /** Gives the connection back without this listener's handlers; destroyed when it failed. */
  #release(client: pg.PoolClient, error?: unknown): void {
    client.off("notification", this.#onNotification);
    client.off("error", this.#onError);
    client.off("end", this.#onEnd);
    client.release(error === undefined ? undefined : error instanceof Error ? error : new Error(String(error)));
  }

  #lost(error: Error): void {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    this.#release(client, error);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed) this.#connecting = this.#connect();
    }, QUEUE_LISTEN_RETRY_MS);
    this.#retry.unref();
  }
}
