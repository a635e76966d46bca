/**
 * A client's WebSocket to a sub-agent, as the Agents SDK treats it: `abortSubAgent` stops the child but
 * keeps the socket (the SDK's root holds it), and its next frame starts the child again;
 * `deleteSubAgent` closes it with 1001 "Sub-agent deleted".
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

let instances = 0;

class Thread extends Agent {
  readonly instance = ++instances;
  onMessage(connection: Connection, message: string | ArrayBuffer): void {
    connection.send(`i${this.instance} echo ${String(message)}`);
  }
}

class Inbox extends Agent {
  abortThread(name: string): void {
    this.abortSubAgent(Thread, name);
  }
  async deleteThread(name: string): Promise<void> {
    await this.deleteSubAgent(Thread, name);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("a sub-agent's client sockets", () => {
  it("stay open when it is aborted; the next frame starts it again", async () => {
    harness = await startHarness({ Inbox, Thread });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/inbox/u/sub/thread/t1`);
    socket.send("one");
    const first = (await socket.waitFor((f) => typeof f === "string" && f.endsWith("echo one"))) as string;
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "u");
    await inbox.abortThread("t1");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.closed).toBeUndefined();
    socket.send("two");
    const second = (await socket.waitFor((f) => typeof f === "string" && f.endsWith("echo two"))) as string;
    expect(second.split(" ")[0]).not.toBe(first.split(" ")[0]); // another instance answered
    socket.close();
  });

  it("close with 1001 \"Sub-agent deleted\" when it is deleted", async () => {
    harness = await startHarness({ Inbox, Thread });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/inbox/u/sub/thread/t2`);
    socket.send("one");
    await socket.waitFor((f) => typeof f === "string" && f.endsWith("echo one"));
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "u");
    await inbox.deleteThread("t2");
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Sub-agent deleted" });
  });
});
