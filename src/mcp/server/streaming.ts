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

/**
 * A response whose body is read as fast as it is produced, so `ended` runs once when the producer
 * finished (or failed), or when the client cancelled — whether or not anyone reads it. What the client
 * has not read yet waits in the returned body. The status and headers are kept.
 */
export function watchProduction(response: Response, ended: () => void): Response {
  if (response.body === null) {
    ended();
    return response;
  }
  const reader = response.body.getReader();
  let out!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      out = controller;
    },
    cancel(reason) {
      ended();
      return reader.cancel(reason);
    },
  });
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
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
