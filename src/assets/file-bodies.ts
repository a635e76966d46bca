import { open, type FileHandle } from "node:fs/promises";

/** Bytes read from disk per chunk of a streamed body. */
const CHUNK_BYTES = 256 * 1024;

interface OpenBody {
  handle: FileHandle;
  controller: ReadableStreamDefaultController<Uint8Array>;
}

/**
 * Response bodies streamed from disk. A file is opened when its body is first read, not when the
 * response is made: a response nobody reads (a worker that looks at `env.ASSETS.fetch`'s status and
 * answers something else) holds no descriptor. Each open file is tracked until it is read to the end
 * or cancelled, so `close()` can release the ones a client never finished.
 * @example
 * const body = bodies.open("/srv/dist/video.mp4", size);
 * const slice = bodies.open("/srv/dist/video.mp4", 1024, 4096); // bytes 4096–5119
 */
export class FileBodies {
  readonly #open = new Set<OpenBody>();
  #closed = false;

  /**
   * `length` bytes of `filePath` from byte `start` as a web stream: the whole file, or one range of it
   * (a file that grew since `stat` is cut there; one that shrank ends where it does).
   */
  open(filePath: string, length: number, start = 0): ReadableStream<Uint8Array> {
    let body: OpenBody | undefined;
    let position = start;
    const end = start + length;
    const release = async (): Promise<void> => {
      const done = body;
      body = undefined;
      if (done === undefined) return;
      this.#open.delete(done);
      await done.handle.close().catch(() => {});
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            if (this.#closed) throw new Error(`The file ${filePath} was closed before its response was read`);
            if (body === undefined) {
              body = { handle: await open(filePath, "r"), controller };
              this.#open.add(body);
              // Closed while the file was opening: released below, as a close would have.
              if (this.#closed) throw new Error(`The file ${filePath} was closed before its response was read`);
            }
            const chunk = Math.min(CHUNK_BYTES, end - position);
            const { bytesRead, buffer } = chunk > 0 ? await body.handle.read(new Uint8Array(chunk), 0, chunk, position) : { bytesRead: 0, buffer: new Uint8Array(0) };
            position += bytesRead;
            if (bytesRead > 0) controller.enqueue(bytesRead === chunk ? buffer : buffer.subarray(0, bytesRead));
            // The end, or a file that shrank since `stat`: what there was is what is sent.
            if (bytesRead === 0 || position >= end) {
              await release();
              controller.close();
            }
          } catch (error) {
            await release();
            controller.error(error);
          }
        },
        cancel: release,
      },
      // Nothing is read (and no file opened) before the body's reader asks.
      { highWaterMark: 0 },
    );
  }

  /** Files being read now. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Closes every file still being read; their responses end with an error, as do those not read yet. */
  close(): void {
    this.#closed = true;
    for (const body of this.#open) {
      body.controller.error(new Error("The assets were closed while this response was being read"));
      void body.handle.close().catch(() => {});
    }
    this.#open.clear();
  }
}
