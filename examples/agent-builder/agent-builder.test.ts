// A customer's chat whose model provider refuses the reply shows the reason, never the key.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it, vi } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import app, { Builder, CustomerAgent } from "./src/server.ts";

const KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

/** An OpenAI-compatible server that answers every request with `status` and `message`. */
async function provider(status: number, message: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message, type: "invalid_request_error", code: null } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

/** Creates the customer, sends one chat message to its agent; resolves with the error its page shows. */
async function errorShown(t: TestEnv, customer: string): Promise<string> {
  const created = await t.fetch("/api/customers", { method: "POST", body: JSON.stringify({ name: customer }) });
  expect(created.status).toBe(200);
  const socket = new WebSocket(`${(await t.url()).replace(/^http/, "ws")}/agents/builder/main/sub/customer-agent/${customer}`);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  const frames: Array<Record<string, unknown>> = [];
  const ended = new Promise<void>((resolve) =>
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (frame.type !== "cf_agent_use_chat_response") return;
      frames.push(frame);
      if (frame.done === true) resolve();
    }),
  );
  const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: "hello" }] }];
  socket.send(JSON.stringify({ type: "cf_agent_use_chat_request", id: "r1", init: { method: "POST", body: JSON.stringify({ messages }) } }));
  await ended;
  socket.close();
  // The page (public/chat.js) shows the body of the frame marked `error`.
  const failed = frames.find((frame) => frame.error === true);
  return typeof failed?.body === "string" ? failed.body : `(no error frame in ${JSON.stringify(frames)})`;
}

let t: TestEnv | undefined;
let server: Server | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.close();
  server?.close();
  t = server = undefined;
});

it("a refused key is named as such; another failure shows the provider's reason without the key", async () => {
  vi.spyOn(console, "error").mockImplementation(() => {}); // the AI SDK logs the whole error on the server
  let url: string;
  ({ server, url } = await provider(401, "Incorrect API key provided: sk-proj-****************************6789."));
  t = await createTestEnv({ agents: { Builder, CustomerAgent }, fetch: app.fetch, vars: { OPENAI_BASE_URL: url, OPENAI_API_KEY: KEY, CHAT_MODEL: "gpt-test" } });
  expect(await errorShown(t, "acme")).toBe(
    "The model provider refused the API key (HTTP 401): set a valid OPENAI_API_KEY or ANTHROPIC_API_KEY for the server.",
  );
  await t.close();
  server.close();
  ({ server, url } = await provider(400, `Invalid request for key ${KEY}: messages must not be empty.`));
  t = await createTestEnv({ agents: { Builder, CustomerAgent }, fetch: app.fetch, vars: { OPENAI_BASE_URL: url, OPENAI_API_KEY: KEY, CHAT_MODEL: "gpt-test" } });
  expect(await errorShown(t, "globex")).toBe("The model provider answered HTTP 400: Invalid request for key [redacted]: messages must not be empty.");
});
