import type { LeasedMessage, Settlement } from "./backend.ts";
import type { MessageFate } from "./batch.ts";
import type { ConsumerSettings } from "./consumer-config.ts";

/**
 * What becomes of the messages of one batch: `delivered[i]` went to the consumer and its decision is
 * `fates[i]`. A message retried once too often goes to the dead letter queue, or is dropped without
 * one; each is logged.
 *
 * @example
 * const settlement = settleBatch(settings, clock.now(), delivered, batch.finish(true));
 * await store.settle(settings.queue, settlement);
 */
export function settleBatch(settings: ConsumerSettings, now: number, delivered: LeasedMessage[], fates: MessageFate[]): Settlement {
  const { maxRetries, retryDelay } = settings;
  const settlement: Settlement = { acked: [], retried: [], deadLettered: [], dropped: [] };
  delivered.forEach((message, index) => {
    const fate = fates[index]!;
    if (fate.kind === "ack") settlement.acked.push(message);
    else if (message.attempts <= maxRetries) settlement.retried.push({ message, visibleAt: now + (fate.delaySeconds ?? retryDelay) * 1000 });
    else giveUp(settings, settlement, message, `after ${message.attempts} failed attempt(s)`);
  });
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
