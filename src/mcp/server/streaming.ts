/**
 * A response whose body reports its end: `ended` runs once, when the body finished, failed or the
 * client went away. The status and headers are kept.
 */
export function watchBody(response: Response, ended: () => void): Response {
  if (response.body === null) {
    ended();
    return response;
  }
  const reader = response.body.getReader();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    ended();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          controller.close();
          finish();
        } else controller.enqueue(chunk.value);
      } catch (error) {
        controller.error(error);
        finish();
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** How much of a response `watchProduction` keeps for a client that does not read it. */
export interface UnreadLimit {
  /** Bytes produced and not yet read past which the response is cut. */
  bytes: number;
  /** The error the cut body ends with (built when the limit is passed). */
  exceeded(): Error;
}

/**
 * A response whose body is read as fast as it is produced, so `ended` runs once when the producer
 * finished (or failed), or when the client cancelled — whether or not anyone reads it. What the client
 * has not read yet waits in the returned body, up to `unread.bytes`: past that the body errors with
 * `unread.exceeded()`, what waited is dropped and the producer's body is cancelled, since a client
 * that stops reading must not make the server hold output without bound. The status and headers are kept.
 */
export function watchProduction(response: Response, ended: () => void, unread: UnreadLimit): Response {
  if (response.body === null) {
    ended();
    return response;
  }
  const reader = response.body.getReader();
  let out!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        out = controller;
      },
      cancel(reason) {
        ended();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: unread.bytes, size: (chunk) => chunk.byteLength },
  );
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        // Checked before the chunk goes in: one large event reaches a client that reads, more than
        // the bound left waiting does not.
        if ((out.desiredSize ?? 0) < 0) {
          const error = unread.exceeded();
          // error() drops what is queued at once; close() would keep it until the client read it.
          out.error(error);
          await reader.cancel(error).catch(() => {});
          return;
        }
        out.enqueue(chunk.value);
      }
      out.close();
    } catch (error) {
      try {
        out.error(error);
      } catch {
        // Already cancelled by the client.
      }
    } finally {
      ended();
    }
  })();
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
