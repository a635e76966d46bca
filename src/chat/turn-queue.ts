/**
 * The turn queue of a chat agent: turns run one at a time, in arrival order. A new chat request is
 * admitted under the class's `messageConcurrency` (see submit-policy.ts): queued, replacing the
 * requests still waiting, or refused. Applying a client's tool result or approval and the turn it
 * continues are queued the same way, so they always see the finished message of the turn before.
 * A running turn keeps the agent in memory; an empty queue holds nothing.
 */
import { supersedes, type SubmitPolicy } from "./submit-policy.ts";

/** Why a queued job never ran. */
export type SkipReason = "superseded" | "cancelled" | "cleared" | "dropped";

export interface TurnJob {
  /** The request id (also used to cancel it, except for an "answer", which cannot be cancelled). */
  readonly id: string;
  /**
   * "request": a client's chat request, subject to the policy; "answer": applying a client's tool
   * result or approval; "continuation": the turn after an answer; "programmatic": `saveMessages`.
   */
  readonly kind: "request" | "answer" | "continuation" | "programmatic";
  /** The user messages a request added to the conversation (what a later "merge" request merges). */
  readonly addedMessageIds?: readonly string[];
  run(signal: AbortSignal): Promise<void>;
  /** The job will not run. */
  skip(reason: SkipReason): void;
  /** Running, but not started yet (a debounce wait): steps aside for a newer request; true if it did. */
  preempt?(): boolean;
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
  /** Called when the queue next becomes idle, and when a job is next added. */
  #idleWaiters: Array<() => void> = [];
  #addWaiters: Array<() => void> = [];

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

  /** Adds a job under `policy` (which only applies to new messages); it runs when the ones before it finished. */
  add(job: TurnJob, policy: SubmitPolicy = { kind: "queue" }): Admission {
    if (this.#closed) {
      job.skip("dropped");
      return "dropped";
    }
    const request = job.kind === "request";
    if (request && policy.kind === "drop" && this.busy) return "dropped";
    if (request && supersedes(policy)) {
      for (const waiting of this.#waiting.filter((w) => w.kind === "request")) this.#remove(waiting, "superseded");
      const running = this.#running?.job;
      if (running?.kind === "request") running.preempt?.();
    }
    if (this.#waiting.length >= this.#host.maxQueued()) return "full";
    this.#waiting.push(job);
    for (const resolve of this.#addWaiters.splice(0)) resolve();
    void this.#drain();
    return "accepted";
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves when a job is next added. */
  added(): Promise<void> {
    return new Promise((resolve) => this.#addWaiters.push(resolve));
  }

  /**
   * Aborts the running turn with this id, or takes a waiting one out of the queue. Only turns: a
   * tool answer is no request a client can see or stop, and its id could be guessed from the call.
   */
  cancel(id: string): boolean {
    const cancellable = (job: TurnJob) => job.id === id && job.kind !== "answer";
    if (this.#running && cancellable(this.#running.job)) {
      this.#running.controller.abort(new Error("The chat request was cancelled"));
      return true;
    }
    const waiting = this.#waiting.find(cancellable);
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
    this.#settleIdle();
  }

  #remove(job: TurnJob, reason: SkipReason): void {
    const index = this.#waiting.indexOf(job);
    if (index >= 0) this.#waiting.splice(index, 1);
    try {
      job.skip(reason);
    } catch (error) {
      this.#host.report(error);
    }
    this.#settleIdle();
  }

  #settleIdle(): void {
    if (!this.busy) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const release = this.#host.keepAlive();
    try {
      await Promise.resolve(); // the caller's event finishes its own work first
      for (let job = this.#next(); job !== undefined; job = this.#next()) {
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
      this.#settleIdle();
    }
  }

  #next(): TurnJob | undefined {
    return this.#closed ? undefined : this.#waiting.shift();
  }
}

/**
 * Waits for a turn of its own in `queue` (as a programmatic job): resolves with the job's signal and
 * the function that ends it, or undefined when the job was skipped or the queue is full.
 */
export function queueSlot(queue: TurnQueue, id: string): Promise<{ signal: AbortSignal; done: () => void } | undefined> {
  return new Promise((resolve) => {
    const admission = queue.add({
      id,
      kind: "programmatic",
      run: (signal) => new Promise<void>((done) => resolve({ signal, done })),
      skip: () => resolve(undefined),
    });
    if (admission === "full") resolve(undefined);
  });
}
