/**
 * A `multipart/byteranges` body (RFC 9110 §14.6): the answer to a request for several ranges of an
 * asset, each part headed by its `Content-Type` and `Content-Range`. Built piece by piece as it is
 * read, so a large file's ranges are streamed from disk one after another.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { ByteRange } from "./byte-ranges.ts";

/** A range's bytes: in memory, or a stream made when the body reaches that range. */
export type RangeBytes = (range: ByteRange) => Uint8Array | ReadableStream<Uint8Array>;

/** A multipart body with what its response's headers must say of it. */
export interface MultipartRanges {
  /** `multipart/byteranges; boundary=…` */
  readonly contentType: string;
  /** The exact length of `body`, in bytes. */
  readonly length: number;
  readonly body: ReadableStream<Uint8Array>;
}

type Piece = Uint8Array | ByteRange;

const encoder = new TextEncoder();

/**
 * The multipart body of `ranges` of a file of `size` bytes and type `contentType`, reading each range
 * with `bytesOf` only when the body gets to it.
 * @example
 * const { contentType, length, body } = multipartRanges(ranges, 1000, "video/mp4", (range) => bytes.subarray(range.start, range.end + 1));
 */
export function multipartRanges(ranges: readonly ByteRange[], size: number, contentType: string, bytesOf: RangeBytes): MultipartRanges {
  const boundary = randomUUID().replaceAll("-", "");
  const pieces: Piece[] = [];
  ranges.forEach((range, index) => {
    // The CRLF before a boundary belongs to it (RFC 2046 §5.1.1): none before the first.
    const head = `${index === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`;
    pieces.push(encoder.encode(head), range);
  });
  pieces.push(encoder.encode(`\r\n--${boundary}--\r\n`));
  const length = pieces.reduce((total, piece) => total + (piece instanceof Uint8Array ? piece.byteLength : piece.end - piece.start + 1), 0);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, body: concatenated(pieces, bytesOf) };
}

/** The pieces one after another, a range's stream read to its end before the next piece. */
function concatenated(pieces: readonly Piece[], bytesOf: RangeBytes): ReadableStream<Uint8Array> {
  let next = 0;
  let current: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        for (;;) {
          if (current !== undefined) {
            const { done, value } = await current.read();
            if (!done) return controller.enqueue(value);
            current = undefined;
          }
          const piece = pieces[next++];
          if (piece === undefined) return controller.close();
          const bytes = piece instanceof Uint8Array ? piece : bytesOf(piece);
          if (bytes instanceof Uint8Array) return controller.enqueue(bytes);
          current = bytes.getReader();
        }
      },
      // A client gone mid-body: the range being read lets go of its file.
      cancel: (reason) => current?.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
