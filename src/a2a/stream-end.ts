/**
 * When the stream of one message has reached the task's answer, as a caller of a remote agent reads
 * it. A status update flagged `final`, or in a terminal or interrupted state, ends it; so does a
 * task snapshot in a terminal state. A snapshot in an interrupted state ends it only once the agent
 * took the message up: the stream of a message continuing a task may open with the task as it was
 * before that message (still asking for it), which A2A allows and which is not the answer.
 */
import { INTERRUPTED_STATES, isFinalState, TERMINAL_STATES, type A2AStreamEvent } from "./types.ts";

/**
 * Reads the events of one message's stream, in order, and tells which one ends it.
 *
 * @example
 * ```ts
 * const end = new StreamEnd({ continuation: message.taskId !== undefined });
 * for await (const { event } of client.stream(message)) if (end.reachedBy(event)) break;
 * ```
 */
export class StreamEnd {
  /** Whether the agent showed it took the message up; a new task's first snapshot already does. */
  #takenUp: boolean;

  constructor(options: { continuation: boolean }) {
    this.#takenUp = !options.continuation;
  }

  /** Whether `event` ends the stream; give it every event of the stream (and of its resumptions), in order. */
  reachedBy(event: A2AStreamEvent): boolean {
    switch (event.kind) {
      case "status":
        this.#takenUp = true;
        return event.final || isFinalState(event.status.state);
      case "artifact":
        this.#takenUp = true;
        return false;
      case "task": {
        const { state } = event.task.status;
        if (TERMINAL_STATES.has(state)) return true;
        // Still waiting for input before anything showed the message arrived: the state before it.
        if (INTERRUPTED_STATES.has(state)) return this.#takenUp;
        this.#takenUp = true;
        return false;
      }
      case "message":
        // An answer without a task: nothing to follow, the stream is over.
        return true;
    }
  }
}
