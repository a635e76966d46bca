// A reply the model provider refuses reaches the page with its reason, never with the key.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { APICallError, RetryError } from "ai";
import { afterEach, expect, it, vi } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { Chat } from "./src/chat.ts";
import { modelErrorMessage } from "./src/model-error.ts";

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

/** Sends one chat message over the agent's WebSocket; resolves with the error the page is given. */
async function errorShown(t: TestEnv, name: string): Promise<string> {
  const socket = new WebSocket(`${(await t.url()).replace(/^http/, "ws")}/agents/chat/${name}`);
  const frames: Array<Record<string, unknown>> = [];
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  const done = new Promise<void>((resolve) =>
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Record<string, unknown>;
      if (frame.type !== "cf_agent_use_chat_response") return;
      frames.push(frame);
      if (frame.done === true) resolve();
    }),
  );
  const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: "hello" }] }];
  socket.send(JSON.stringify({ type: "cf_agent_use_chat_request", id: "r1", init: { method: "POST", body: JSON.stringify({ messages }) } }));
  await done;
  socket.close();
  // The failure ends the reply: a last frame marked `error`, its body the text the page shows.
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

it("a refused key is named as such, without the provider's text, which quotes part of the key", async () => {
  vi.spyOn(console, "error").mockImplementation(() => {}); // the AI SDK logs the whole error on the server
  let url: string;
  ({ server, url } = await provider(401, `Incorrect API key provided: sk-proj-****************************6789. You can find your API key at https://platform.openai.com/account/api-keys.`));
  t = await createTestEnv({ agents: { Chat }, vars: { OPENAI_BASE_URL: url, OPENAI_API_KEY: KEY, CHAT_MODEL: "gpt-test" } });
  const shown = await errorShown(t, "refused");
  expect(shown).toBe("The model provider refused the API key (HTTP 401): set a valid OPENAI_API_KEY or ANTHROPIC_API_KEY for the server.");
});

it("another failure shows the provider's reason, with the key taken out", async () => {
  vi.spyOn(console, "error").mockImplementation(() => {});
  let url: string;
  ({ server, url } = await provider(404, `The model gpt-test does not exist or you do not have access to it (key ${KEY}).`));
  t = await createTestEnv({ agents: { Chat }, vars: { OPENAI_BASE_URL: url, OPENAI_API_KEY: KEY, CHAT_MODEL: "gpt-test" } });
  const shown = await errorShown(t, "unknown-model");
  expect(shown).toBe("The model provider answered HTTP 404: The model gpt-test does not exist or you do not have access to it (key [redacted]).");
  expect(shown).not.toContain("abcdefgh");
});

it("unwraps retried calls and takes out URL credentials and masked keys", () => {
  const limited = new APICallError({ message: "Rate limit reached.", url: "https://api.openai.com/v1/chat/completions", requestBodyValues: {}, statusCode: 429 });
  const retried = new RetryError({ message: "Failed after 3 attempts.", reason: "maxRetriesExceeded", errors: [limited, limited, limited] });
  expect(modelErrorMessage(retried, {})).toBe("The model provider answered HTTP 429: Rate limit reached.");
  const unreachable = new Error("Cannot connect to https://ada:hunter22@llm.internal/v1 with key sk-****6789");
  expect(modelErrorMessage(unreachable, { LLM_PASSWORD: "hunter22-and-more" })).toBe("The model call failed: Cannot connect to https://llm.internal/v1 with key [redacted]");
  expect(modelErrorMessage(new Error(`token ${"t0k3n-value-1234"} refused`), { GATEWAY_TOKEN: "t0k3n-value-1234" })).toBe("The model call failed: token [redacted] refused");
});
