/**
 * Reconnection of one server: once retrying is on (`connect(true)`, a lost connection), each failure
 * arms the next attempt with backoff; a server given `retry.maxAttempts` stays failed after that many
 * failures in a row.
 */
import { backoffDelay, resolveRetry, type RetryOptions } from "../../time/backoff.ts";
import { clip } from "./errors.ts";
import { MCP_RECONNECT } from "./limits.ts";

export class Reconnect {
  /** Delays between attempts; `maxAttempts` applies only when the server was given `retry`. */
  readonly policy: Required<RetryOptions>;
  /** Failures are retried. */
  enabled = false;
  readonly #bounded: boolean;
  readonly #attempt: () => void;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `attempt` runs when an armed delay ends. */
  constructor(retry: RetryOptions | undefined, attempt: () => void) {
    this.policy = resolveRetry(retry, MCP_RECONNECT);
    this.#bounded = retry?.maxAttempts !== undefined;
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
    if (this.#bounded && this.#failures >= this.policy.maxAttempts) {
      const failures = this.#failures;
      this.#failures = 0;
      return failures;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#attempt();
    }, backoffDelay(this.#failures, this.policy));
    this.#timer.unref();
    return undefined;
  }
}
