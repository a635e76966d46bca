import type { LeasedMessage, Settlement } from "./backend.ts";
import type { MessageFate } from "./batch.ts";
import type { ConsumerSettings } from "./consumer-config.ts";

/**
 * Whether a message just leased has used up its deliveries without one of them ending: `attempts`
 * counts this lease too, so more than `max_retries + 1` means `max_retries + 1` deliveries before it
 * ended with the process (a crash, a kill) or with an outcome that could not be recorded. Such a
 * message is not handed to the consumer again: it would crash the process again, forever.
 */
export function usedUp(message: LeasedMessage, maxRetries: number): boolean {
  return message.attempts > maxRetries + 1;
}

/**
 * What becomes of the messages of one batch: `delivered[i]` went to the consumer and its decision is
 * `fates[i]`; `spent` were leased with the batch but, {@link usedUp}, not delivered. A message retried
 * once too often, or spent, goes to the dead letter queue, or is dropped without one; each is logged.
 *
 * @example
 * const settlement = settleBatch(settings, clock.now(), delivered, batch.finish(true), spent);
 * await store.settle(settings.queue, settlement);
 */
export function settleBatch(settings: ConsumerSettings, now: number, delivered: LeasedMessage[], fates: MessageFate[], spent: LeasedMessage[]): Settlement {
  const { maxRetries, retryDelay } = settings;
  const settlement: Settlement = { acked: [], retried: [], deadLettered: [], dropped: [] };
  delivered.forEach((message, index) => {
    const fate = fates[index]!;
    if (fate.kind === "ack") settlement.acked.push(message);
    else if (message.attempts <= maxRetries) settlement.retried.push({ message, visibleAt: now + (fate.delaySeconds ?? retryDelay) * 1000 });
    else giveUp(settings, settlement, message, `after ${message.attempts} failed attempt(s)`);
  });
  for (const message of spent) {
    const deliveries = message.attempts - 1;
    giveUp(
      settings,
      settlement,
      message,
      `without being delivered again: it has had its ${deliveries} deliveries (max_retries ${maxRetries} + 1), the last of them ending without an outcome (the process stopped mid-batch, or the outcome could not be recorded)`,
    );
  }
  return settlement;
}

/** The outcome of a batch for a log line, e.g. "2 retried, 1 dead-lettered, 1 acked". */
export function describeSettlement(settlement: Settlement): string {
  const parts = (
    [
      [settlement.retried.length, "retried"],
      [settlement.deadLettered.length, "dead-lettered"],
      [settlement.dropped.length, "dropped"],
      [settlement.acked.length, "acked"],
    ] as const
  ).filter(([count]) => count > 0);
  return parts.length === 0 ? "nothing to settle" : parts.map(([count, what]) => `${count} ${what}`).join(", ");
}

function giveUp(settings: ConsumerSettings, settlement: Settlement, message: LeasedMessage, why: string): void {
  const { queue, deadLetterQueue } = settings;
  if (deadLetterQueue !== undefined) {
    console.warn(`[hearth] queue "${queue}": message ${message.id} moved to dead letter queue "${deadLetterQueue}" ${why}`);
    settlement.deadLettered.push({ message, queue: deadLetterQueue });
  } else {
    console.warn(`[hearth] queue "${queue}": message ${message.id} dropped ${why} (no dead_letter_queue configured)`);
    settlement.dropped.push(message);
  }
}
