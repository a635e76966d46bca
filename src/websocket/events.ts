/**
 * The events a Workers WebSocket dispatches. Node has MessageEvent and CloseEvent; ErrorEvent is a
 * browser global Node lacks, so a small one stands in.
 */

export type SocketMessage = string | ArrayBuffer;

export function messageEvent(data: SocketMessage): Event {
  return new MessageEvent("message", { data });
}

export function closeEvent(code: number, reason: string, wasClean: boolean): Event {
  return new CloseEvent("close", { code, reason, wasClean });
}

class SocketErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
  constructor(error: unknown) {
    super("error");
    this.error = error;
    this.message = error instanceof Error ? error.message : String(error);
  }
}

export function errorEvent(error: unknown): Event {
  return new SocketErrorEvent(error);
}
