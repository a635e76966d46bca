/**
 * Bytes of a streamed response one shard sends ahead of what the other has passed on (written to its
 * client, or read): beyond it the sender waits, so a slow client holds the stream back instead of the
 * receiving thread buffering all of it.
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * The sender's side of one streamed response's flow control: what it sent and the other shard did
 * not yet acknowledge, and the wait for room.
 * @example
 * window.sent(chunk.byteLength);
 * await window.room(); // resolves once acks bring it under STREAM_WINDOW_BYTES (or it is released)
 */
export class SendWindow {
  #unacked = 0;
  #resume: (() => void) | undefined;
  #released = false;

  sent(bytes: number): void {
    this.#unacked += bytes;
  }

  acknowledged(bytes: number): void {
    this.#unacked -= bytes;
    if (this.#unacked < STREAM_WINDOW_BYTES) this.#wake();
  }

  /** Resolves when there is room to send more, or the window was released (the call is over). */
  async room(): Promise<void> {
    while (this.#unacked >= STREAM_WINDOW_BYTES && !this.#released) {
      await new Promise<void>((resolve) => (this.#resume = resolve));
    }
  }

  /** Ends any wait for good (the client went away, the link closed). */
  release(): void {
    this.#released = true;
    this.#wake();
  }

  #wake(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }
}
