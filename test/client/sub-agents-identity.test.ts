/**
 * The identity frame of a sub-agent, as the Agents SDK sends it: the sub-agent's own class (in URL
 * form) and name, so a client with `sub` reports the agent it talks to.
 *
 * Known server-side gap: Hearth's sub-agents announce the root's URL segment as their class
 * (`agent: "mailbox"` for a ChatThread below a Mailbox). A child's binding takes the root's slug
 * (src/host/children.ts, `childStart`), and the identity frame is built from that slug
 * (src/agent/agent-base.ts, `frames.identity(this.name, this.#runtime.classSlug, …)`). The test is
 * marked `fails` until the server sends the child's class; then remove the marker.
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

test.fails("a sub-agent identifies itself by its own class and name", async () => {
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
