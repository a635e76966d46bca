/**
 * Output the output gate holds back (a WebSocket frame, a close, an event's reply): `send` runs once
 * the writes made before it are committed and durable; `dropped`, if given, runs instead when they
 * never will be — the event failed, its `transaction()` closure was undone, the commit or its
 * replication failed — so that the sender can undo what it already did on its side (a socket that
 * counted itself closed opens again).
 */
export interface HeldOutput {
  readonly send: () => void;
  readonly dropped?: (() => void) | undefined;
}

/** Tells each of `outputs` that it will never be sent. One that throws is logged; the others still run. */
export function dropHeld(outputs: Iterable<HeldOutput>): void {
  for (const { dropped } of outputs) {
    if (dropped === undefined) continue;
    try {
      dropped();
    } catch (error) {
      console.error("[hearth] undoing dropped output failed:", error);
    }
  }
}

/** Runs `send`; one that throws is logged (the output it stood for is lost, the rest still goes). */
export function sendHeld({ send }: HeldOutput): void {
  try {
    send();
  } catch (error) {
    console.error("[hearth] sending held output failed:", error);
  }
}
