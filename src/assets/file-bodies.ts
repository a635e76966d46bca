import { createReadStream, type ReadStream } from "node:fs";
import { Readable } from "node:stream";

/**
 * Response bodies streamed from disk. Each open file is tracked until it is read to the end or
 * cancelled, so `close()` can release the ones a client never finished.
 * @example
 * const body = bodies.open("/srv/dist/video.mp4", size);
 */
export class FileBodies {
  readonly #open = new Set<ReadStream>();

  /** The first `size` bytes of `filePath` as a web stream (a file that grew since `stat` is cut there). */
  open(filePath: string, size: number): ReadableStream<Uint8Array> {
    const stream = createReadStream(filePath, { start: 0, end: Math.max(0, size - 1), highWaterMark: 256 * 1024 });
    this.#open.add(stream);
    stream.once("close", () => this.#open.delete(stream));
    return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
  }

  /** Files being read now. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Closes every file still being read; their responses end with an error. */
  close(): void {
    for (const stream of this.#open) stream.destroy();
    this.#open.clear();
  }
}
