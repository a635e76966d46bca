/**
 * The identity frame of a sub-agent, as the Agents SDK sends it: the sub-agent's own class (in URL
 * form) and name, so a client with `sub` reports the agent it talks to.
 */
import { afterEach, expect, test } from "vitest";
import { Agent } from "../../src/index.ts";
import { AgentClient } from "../../src/client/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { Inbox } from "./helpers.ts";

class ChatThread extends Agent<unknown, { n: number }> {
  override initialState = { n: 0 };
}
class Mailbox extends Agent {}

let harness: Harness | undefined;
let client: AgentClient | undefined;
afterEach(async () => {
  client?.close();
  await harness?.close();
});

test("a sub-agent identifies itself by its own class and name", async () => {
  harness = await startHarness({ Mailbox, ChatThread });
  const identities = new Inbox<{ name: string; agent: string }>();
  client = new AgentClient({
    host: harness.url,
    agent: "Mailbox",
    name: "ada",
    sub: [{ agent: "ChatThread", name: "t1" }],
    onIdentity: (name, agent) => identities.push({ name, agent }),
  });
  expect({ agent: client.agent, name: client.name }).toEqual({ agent: "chat-thread", name: "t1" });
  expect(await identities.next()).toEqual({ name: "t1", agent: "chat-thread" });
  expect({ agent: client.agent, name: client.name }).toEqual({ agent: "chat-thread", name: "t1" });
});
