/**
 * Reconnection of one server: once retrying is on (`connect(true)`, a lost connection), each failure
 * arms the next attempt with backoff; after `maxAttempts` failures in a row (the server's `retry`,
 * else {@link MCP_RECONNECT}: 3) the server stays failed. A lost connection is not a failed
 * attempt: it arms the first of `maxAttempts` attempts.
 */
import { backoffDelay, resolveRetry, type RetryOptions } from "../../time/backoff.ts";
import { clip } from "./errors.ts";
import { MCP_RECONNECT } from "./limits.ts";

export class Reconnect {
  /** Attempts and delays: the server's `retry` over {@link MCP_RECONNECT}. */
  readonly policy: Required<RetryOptions>;
  /** Failures are retried. */
  enabled = false;
  readonly #attempt: () => void;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `attempt` runs when an armed delay ends. */
  constructor(retry: RetryOptions | undefined, attempt: () => void) {
    this.policy = resolveRetry(retry, MCP_RECONNECT);
    this.#attempt = attempt;
  }

  /** An attempt starts now (or none will): the armed one is dropped. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The server connected: failures in a row start again from zero. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** A ready server dropped: arms the first attempt without counting the drop as a failure; returns `message`. */
  lost(message: string): string {
    this.enabled = true;
    if (this.#timer) return message;
    this.#failures = 0;
    this.#arm(1);
    return message;
  }

  /** Arms the next attempt after a failure; returns the error to show (saying when it gave up). */
  failed(message: string): string {
    const gaveUpAfter = this.#schedule();
    return gaveUpAfter === undefined ? message : `${clip(message, 800)} (gave up after ${gaveUpAfter} failed attempts in a row; connectToServer() tries again)`;
  }

  /** Arms the next attempt; returns the number of failures when `maxAttempts` is reached instead. */
  #schedule(): number | undefined {
    if (!this.enabled || this.#timer) return undefined;
    this.#failures++;
    // `maxAttempts` failures in a row: stay failed until something calls connect again.
    if (this.#failures >= this.policy.maxAttempts) {
      const failures = this.#failures;
      this.#failures = 0;
      return failures;
    }
    this.#arm(this.#failures);
    return undefined;
  }

  #arm(failures: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#attempt();
    }, backoffDelay(failures, this.policy));
    this.#timer.unref();
  }
}
