/** When the OTLP exporter tries a batch again. */
import { backoffDelay } from "../../time/backoff.ts";

/** The longest wait before a retry, whatever the collector asks for. */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * The wait before retry `attempt` (0 for the first): `baseMs` doubled each time, at most
 * {@link MAX_RETRY_DELAY_MS}, of which a random half is taken off so exporters that failed together
 * do not all come back at the same moment.
 */
export function backoffMs(baseMs: number, attempt: number, random: () => number = Math.random): number {
  return backoffDelay(attempt + 1, { maxAttempts: 1, baseDelayMs: baseMs, maxDelayMs: MAX_RETRY_DELAY_MS }, random);
}
