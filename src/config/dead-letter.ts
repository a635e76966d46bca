/**
 * Cycles of dead letter queues. A queue's failed messages go to its `dead_letter_queue`; when that
 * queue has a consumer whose own dead letter queue leads back, a message failing everywhere would
 * move round the cycle until retention deletes it, so such a configuration is refused at load.
 */

/** A consumer as far as dead letters go: its queue and where its failed messages go. */
export interface DeadLetterEdge {
  queue: string;
  deadLetterQueue?: string | undefined;
}

/**
 * The first cycle of dead letter queues among `consumers`, as the queues along it from the first
 * consumer (in the given order) that lies on one back to that queue, or undefined when there is none.
 * A queue that is its own dead letter queue is a cycle of one: `["jobs", "jobs"]`.
 *
 * @example
 * deadLetterCycle([{ queue: "a", deadLetterQueue: "b" }, { queue: "b", deadLetterQueue: "a" }]); // ["a", "b", "a"]
 * deadLetterCycle([{ queue: "a", deadLetterQueue: "b" }, { queue: "b" }]); // undefined
 */
export function deadLetterCycle(consumers: readonly DeadLetterEdge[]): string[] | undefined {
  const next = new Map<string, string | undefined>();
  for (const consumer of consumers) if (!next.has(consumer.queue)) next.set(consumer.queue, consumer.deadLetterQueue);
  for (const consumer of consumers) {
    const path = [consumer.queue];
    // Each queue has one dead letter queue at most, so a walk that meets a queue twice has found a
    // cycle; one that does not come back to its start is not on it and stops there.
    for (let queue = next.get(consumer.queue); queue !== undefined; queue = next.get(queue)) {
      if (queue === consumer.queue) return [...path, queue];
      if (path.includes(queue)) break;
      path.push(queue);
    }
  }
  return undefined;
}

/** A cycle as written in messages: `a → b → a`. */
export function describeDeadLetterCycle(cycle: readonly string[]): string {
  return cycle.map((queue) => JSON.stringify(queue)).join(" → ");
}
