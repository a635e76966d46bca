/**
 * A stream read into bytes up to `maxBytes`: undefined as soon as it is longer (the rest is never
 * buffered, the stream is cancelled). Read errors are thrown.
 */
export async function readStreamBytesUpTo(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) return undefined;
      chunks.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks);
}

/** {@link readStreamBytesUpTo}, decoded as UTF-8. */
export async function readStreamUpTo(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string | undefined> {
  const bytes = await readStreamBytesUpTo(body, maxBytes);
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/** A request body as bytes, or undefined when its declared or actual size exceeds `maxBytes`. */
export async function readBodyBytesWithLimit(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  return readStreamBytesUpTo(request.body, maxBytes);
}

/** A request body as text, or undefined when its declared or actual size exceeds `maxBytes`. */
export async function readBodyWithLimit(request: Request, maxBytes: number): Promise<string | undefined> {
  const bytes = await readBodyBytesWithLimit(request, maxBytes);
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/**
 * The first `maxBytes` of a body stream, for messages and refusals that show the start of a body
 * without holding all of it (a receiver may answer with gigabytes). Reading stops there, at the
 * stream's end, when it fails (what arrived is kept) or when `stopped()` says so; the rest is
 * cancelled.
 * @example const start = await readAtMost(response.body.getReader(), 4096);
 */
export async function readAtMost(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number, stopped: () => boolean = () => false): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes && !stopped()) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body that fails partway: what arrived is still worth showing.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
