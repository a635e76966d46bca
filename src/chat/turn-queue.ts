/**
 * The concurrency policy of a chat agent: turns run one at a time, in arrival order. While one
 * runs, a new chat request is queued ("queue", the default), replaces the requests still waiting
 * ("latest"), or is refused ("drop"). Applying a client's tool result or approval and the turn it
 * continues are queued the same way, so they always see the finished message of the turn before.
 * A running turn keeps the agent in memory; an empty queue holds nothing.
 */

/** What happens to a chat request that arrives while a turn is running. */
export type ChatConcurrency = "queue" | "latest" | "drop";

/** Why a queued job never ran. */
export type SkipReason = "superseded" | "cancelled" | "cleared" | "dropped";

export interface TurnJob {
  /** The request id (also used to cancel it). */
  readonly id: string;
  /**
   * "request": a client's chat request, subject to the policy; "answer": applying a client's tool
   * result or approval; "continuation": the turn after an answer; "programmatic": `saveMessages`.
   */
  readonly kind: "request" | "answer" | "continuation" | "programmatic";
  run(signal: AbortSignal): Promise<void>;
  /** The job will not run. */
  skip(reason: SkipReason): void;
}

export type Admission = "accepted" | "dropped" | "full";

interface QueueHost {
  keepAlive(): () => void;
  report(error: unknown): void;
  maxQueued(): number;
}

export class TurnQueue {
  readonly #host: QueueHost;
  readonly #waiting: TurnJob[] = [];
  #running: { job: TurnJob; controller: AbortController } | undefined;
  #draining = false;
  #closed = false;

  constructor(host: QueueHost) {
    this.#host = host;
  }

  /** The running job. */
  get active(): TurnJob | undefined {
    return this.#running?.job;
  }

  get waiting(): readonly TurnJob[] {
    return this.#waiting;
  }

  get busy(): boolean {
    return this.#running !== undefined || this.#waiting.length > 0;
  }

  /** Adds a job under `policy` (which only applies to submits); it runs when the ones before it finished. */
  add(job: TurnJob, policy: ChatConcurrency = "queue"): Admission {
    if (this.#closed) {
      job.skip("dropped");
      return "dropped";
    }
    const request = job.kind === "request";
    if (request && policy === "drop" && this.busy) return "dropped";
    if (request && policy === "latest") {
      for (const waiting of this.#waiting.filter((w) => w.kind === "request")) this.#remove(waiting, "superseded");
    }
    if (this.#waiting.length >= this.#host.maxQueued()) return "full";
    this.#waiting.push(job);
    void this.#drain();
    return "accepted";
  }

  /** Aborts the running job with this id, or takes a waiting one out of the queue. */
  cancel(id: string): boolean {
    if (this.#running?.job.id === id) {
      this.#running.controller.abort(new Error("The chat request was cancelled"));
      return true;
    }
    const waiting = this.#waiting.find((job) => job.id === id);
    if (waiting) this.#remove(waiting, "cancelled");
    return waiting !== undefined;
  }

  /** Skips every waiting job and aborts the running one (a cleared conversation). */
  clear(reason: unknown): void {
    for (const job of [...this.#waiting]) this.#remove(job, "cleared");
    this.#running?.controller.abort(reason);
  }

  /** The agent leaves memory: nothing more runs. */
  close(reason: unknown): void {
    this.#closed = true;
    for (const job of this.#waiting.splice(0)) job.skip("dropped");
    this.#running?.controller.abort(reason);
  }

  #remove(job: TurnJob, reason: SkipReason): void {
    const index = this.#waiting.indexOf(job);
    if (index >= 0) this.#waiting.splice(index, 1);
    try {
      job.skip(reason);
    } catch (error) {
      this.#host.report(error);
    }
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const release = this.#host.keepAlive();
    try {
      await Promise.resolve(); // the caller's event finishes its own work first
      for (let job = this.#waiting.shift(); job !== undefined && !this.#closed; job = this.#waiting.shift()) {
        const controller = new AbortController();
        this.#running = { job, controller };
        try {
          await job.run(controller.signal);
        } catch (error) {
          if (!this.#closed) this.#host.report(error);
        } finally {
          this.#running = undefined;
        }
      }
    } finally {
      this.#draining = false;
      release();
    }
  }
}
