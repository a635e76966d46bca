/**
 * What a client holds while its socket is not open: calls not sent yet and other frames, in the
 * order they were made. Adding, removing one item, and reading how many frames wait and their
 * size each take constant time, so holding n frames costs O(n) however often the count is read.
 */

/** What a WebSocket sends: a frame held by {@link Outbox.hold}. */
export type OutgoingFrame = string | ArrayBuffer | Blob | ArrayBufferView<ArrayBuffer>;

/** A held frame and its size, taken when it was held (as a WebSocket counts `bufferedAmount` at `send`). */
export class HeldFrame {
  readonly frame: OutgoingFrame;
  readonly size: number;
  constructor(frame: OutgoingFrame) {
    this.frame = frame;
    this.size = frameSize(frame);
  }
}

/**
 * The size in bytes (UTF-16 code units, for text) of a frame, as PartySocket's
 * `bufferedAmount` counts it.
 *
 * @example
 * ```ts
 * frameSize("abc");              // 3
 * frameSize(new Uint8Array(8));  // 8
 * ```
 */
export function frameSize(frame: OutgoingFrame): number {
  if (typeof frame === "string") return frame.length;
  if (typeof Blob !== "undefined" && frame instanceof Blob) return frame.size;
  return (frame as { byteLength?: number }).byteLength ?? 0;
}

/**
 * An ordered outbox of calls (any object) and held frames. A `Set` keeps insertion order and
 * removes one item in constant time, which a call that times out or is rejected while it waits needs.
 *
 * @example
 * ```ts
 * const outbox = new Outbox<{ request: string }>();
 * outbox.add(call);
 * outbox.hold("frame");
 * for (const item of outbox.take()) send(item instanceof HeldFrame ? item.frame : item.request);
 * ```
 */
export class Outbox<Call extends object> {
  #items = new Set<Call | HeldFrame>();
  #frameCount = 0;
  #frameBytes = 0;

  /** How many items (calls and frames) wait. */
  get size(): number {
    return this.#items.size;
  }

  /** How many held frames wait. */
  get frameCount(): number {
    return this.#frameCount;
  }

  /** The total size of the held frames, as {@link frameSize} counts it. */
  get frameBytes(): number {
    return this.#frameBytes;
  }

  /** Queues a call behind everything queued before it. */
  add(call: Call): void {
    this.#items.add(call);
  }

  /** Removes a call that will not be sent (it settled while it waited). */
  remove(call: Call): void {
    this.#items.delete(call);
  }

  /** Queues a frame behind everything queued before it. */
  hold(frame: OutgoingFrame): void {
    const held = new HeldFrame(frame);
    this.#items.add(held);
    this.#frameCount += 1;
    this.#frameBytes += held.size;
  }

  /** Empties the outbox and returns what it held, oldest first. */
  take(): Array<Call | HeldFrame> {
    const items = [...this.#items];
    this.#items = new Set();
    this.#frameCount = 0;
    this.#frameBytes = 0;
    return items;
  }

  /** Removes and returns the held frames, oldest first; the calls stay queued in their order. */
  drainFrames(): OutgoingFrame[] {
    const frames: OutgoingFrame[] = [];
    for (const item of this.#items) {
      if (!(item instanceof HeldFrame)) continue;
      frames.push(item.frame);
      this.#items.delete(item);
    }
    this.#frameCount = 0;
    this.#frameBytes = 0;
    return frames;
  }
}
