import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { NewMessage } from "../../queues/backend.ts";
import type { QueueMetrics } from "../../queues/types.ts";

/** Commits messages of one statement; resolves with the metrics of every queue it touched. */
export type CommitSends = (rows: NewMessage[]) => Promise<Map<string, QueueMetrics>>;

/**
 * Body bytes one statement may carry before the next sends go into another: a statement sends bytea
 * as hex text (twice the size) and Postgres refuses a message over 1 GiB. A call's messages (at most
 * 256,000 bytes) are never split.
 */
export const MAX_SEND_STATEMENT_BYTES = 16 * 1024 * 1024;

interface PendingSend {
  rows: NewMessage[];
  resolve: (metrics: QueueMetrics) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of sends: every send made while no statement is in flight waits for the end of the
 * turn, then one INSERT commits them all; sends made while a statement is in flight go into the next
 * one. Statements run one after another, so messages are stored in the order they were sent.
 */
export class SendBatcher {
  readonly #commit: CommitSends;
  #pending: PendingSend[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;

  constructor(commit: CommitSends) {
    this.#commit = commit;
  }

  /** Queues the messages of one call; resolves with their queue's metrics once committed. */
  add(rows: NewMessage[]): Promise<QueueMetrics> {
    return new Promise<QueueMetrics>((resolve, reject) => {
      this.#pending.push({ rows, resolve, reject });
      this.#schedule();
    });
  }

  /** Sends what is pending now; resolves when every send queued so far has committed or failed. */
  async drain(): Promise<void> {
    while (this.#inFlight !== undefined || this.#pending.length > 0) {
      if (this.#inFlight === undefined) this.#start();
      await this.#inFlight;
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight !== undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#inFlight === undefined) this.#start();
    });
  }

  #start(): void {
    const sends = this.#takeStatement();
    if (sends.length === 0) return;
    this.#inFlight = this.#run(sends).finally(() => {
      this.#inFlight = undefined;
      if (this.#pending.length > 0) this.#start();
    });
  }

  /** The pending sends that fit one statement, oldest first. */
  #takeStatement(): PendingSend[] {
    let bytes = 0;
    let count = 0;
    for (const send of this.#pending) {
      const size = send.rows.reduce((sum, row) => sum + row.body.byteLength, 0);
      if (count > 0 && bytes + size > MAX_SEND_STATEMENT_BYTES) break;
      bytes += size;
      count++;
    }
    return this.#pending.splice(0, count);
  }

  async #run(sends: PendingSend[]): Promise<void> {
    let metrics: Map<string, QueueMetrics>;
    try {
      metrics = await this.#commit(sends.flatMap((send) => send.rows));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new Error(`Queue send failed: the message could not be stored: ${reason}`, { cause: error });
      for (const send of sends) send.reject(failure);
      return;
    }
    for (const send of sends) send.resolve(metrics.get(send.rows[0]!.queue)!);
  }
}
