/**
 * A streamed response to a client that stops reading and then goes away: the socket's buffer is full
 * when it closes, so no "drain" ever comes. The write must end there (the stream cancelled, the
 * writer's promise settled), not wait for ever holding the response and its stream.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { writeResponse } from "../../src/gateway/node-adapter.ts";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

it("a client gone while its socket's buffer was full ends the write: the body is cancelled and writeResponse settles", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  let cancelled = false;
  let settled = false;
  let response: ServerResponse | undefined;
  server = createServer((_request, outgoing) => {
    response = outgoing;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    void writeResponse(new Response(body), outgoing).then(() => (settled = true));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  socket.pause(); // reads nothing: the server's buffers fill
  socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const deadline = Date.now() + 10_000;
  while (response?.writableNeedDrain !== true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(response?.writableNeedDrain).toBe(true);
  socket.destroy();
  while (!(cancelled && settled) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect({ cancelled, settled }).toEqual({ cancelled: true, settled: true });
});
