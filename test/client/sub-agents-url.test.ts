/**
 * Addresses of sub-agents as `hearth/client` builds them (`sub` of `agentPath`, `agentUrl`,
 * `AgentClient` and `agentFetch`), and the errors for steps no URL can carry.
 */
import { describe, expect, test } from "vitest";
import {
  AgentClient,
  agentFetch,
  agentPath,
  agentUrl,
  subAgentPath,
  SUB_AGENT_SEGMENT,
} from "../../src/client/index.ts";
import type { AgentPathStep } from "../../src/client/index.ts";
import { socketPath } from "../../src/client/socket-options.ts";
import { agentSteps } from "../../src/client/url.ts";
import { buildAgentPath } from "../../src/sub-agents/paths.ts";

/** Steps as a caller without types might pass them. */
const steps = (...list: unknown[]): AgentPathStep[] => list as AgentPathStep[];

describe("sub-agent paths", () => {
  test("one /sub/{kebab class}/{encoded name} per step, root first, after the top-level agent", () => {
    expect(agentPath({ agent: "Inbox", name: "ada", sub: [{ agent: "ChatThread", name: "t1" }] })).toBe(
      "/agents/inbox/ada/sub/chat-thread/t1",
    );
    expect(
      agentPath({
        agent: "Tenant",
        name: "acme",
        prefix: "/api/",
        sub: [
          { agent: "Inbox", name: "ada" },
          { agent: "chat-thread", name: "t1" },
        ],
      }),
    ).toBe("/api/tenant/acme/sub/inbox/ada/sub/chat-thread/t1");
    expect(agentPath({ agent: "Inbox", sub: [] })).toBe("/agents/inbox/default");
    expect(SUB_AGENT_SEGMENT).toBe("sub");
  });

  test("names are encoded as one segment each, and a child may be called \"sub\"", () => {
    const names = ["a/b", "héllo wörld", "q?x=1#frag", "100%", "sub", "..x", "🎉"];
    for (const name of names) {
      const path = subAgentPath([{ agent: "ChatThread", name }]);
      expect(path).toBe(`/sub/chat-thread/${encodeURIComponent(name)}`);
      expect(new URL(`http://h${path}`).pathname).toBe(path);
      expect(decodeURIComponent(path.split("/")[3] ?? "")).toBe(name);
    }
    expect(subAgentPath(undefined)).toBe("");
  });

  test("the same path as the server's buildAgentPath for a sub-agent's selfPath", () => {
    const self = [
      { className: "Inbox", name: "ada" },
      { className: "ChatThread", name: "t/1 é" },
      { className: "Note", name: "n1" },
    ];
    const [root, ...children] = self;
    const client = agentPath({
      agent: root!.className,
      name: root!.name,
      sub: children.map((step) => ({ agent: step.className, name: step.name })),
    });
    expect(client).toBe(buildAgentPath(self));
  });

  test("basePath: the steps follow it, and path follows them", () => {
    const options = { agent: "Inbox", basePath: "/me/", sub: [{ agent: "ChatThread", name: "t 1" }], path: "/x" };
    expect(socketPath(options)).toEqual({ basePath: "me/sub/chat-thread/t%201", path: "x" });
    expect(agentUrl({ host: "127.0.0.1:9", ...options, query: { a: "1" } })).toBe(
      "http://127.0.0.1:9/me/sub/chat-thread/t%201/x?a=1",
    );
  });

  test("agentUrl puts path and query after the last step", () => {
    const url = agentUrl({
      host: "https://agents.example.com",
      agent: "Inbox",
      name: "ada",
      sub: [{ agent: "ChatThread", name: "t1" }],
      path: "messages",
      query: { limit: "5" },
    });
    expect(url).toBe("https://agents.example.com/agents/inbox/ada/sub/chat-thread/t1/messages?limit=5");
  });

  test("agentSteps: the whole address root first, with the top-level name defaulted", () => {
    expect(agentSteps({ agent: "Inbox", sub: [{ agent: "ChatThread", name: "t1" }] })).toEqual([
      { agent: "Inbox", name: "default" },
      { agent: "ChatThread", name: "t1" },
    ]);
    expect(agentSteps({ agent: "Counter", name: "c" })).toEqual([{ agent: "Counter", name: "c" }]);
  });
});

describe("sub-agent address errors", () => {
  const cases: Array<[string, AgentPathStep[], string]> = [
    ["an empty name", steps({ agent: "ChatThread", name: "" }), 'sub[0].name must be a non-empty string, the sub-agent\'s instance name (got "")'],
    ["no name", steps({ agent: "ChatThread" }), "sub[0].name must be a non-empty string, the sub-agent's instance name (got undefined)"],
    ["a name that is not a string", steps({ agent: "ChatThread", name: 7 }), "sub[0].name must be a non-empty string, the sub-agent's instance name (got 7)"],
    ["no agent", steps({ agent: "Inbox", name: "a" }, { name: "t1" }), "sub[1].agent must be a non-empty string, the sub-agent's class (got undefined)"],
    ["an empty agent", steps({ agent: "", name: "t1" }), 'sub[0].agent must be a non-empty string, the sub-agent\'s class (got "")'],
    ["a step that is no object", steps("ChatThread"), 'sub[0] must be an object { agent, name } (got "ChatThread")'],
    ["a null step", steps(null), "sub[0] must be an object { agent, name } (got null)"],
    ["the class Sub", steps({ agent: "Sub", name: "x" }), 'sub[0].agent "Sub" has the URL form "sub", which separates sub-agents in URLs; rename the class'],
    ["the class segment sub", steps({ agent: "sub", name: "x" }), 'sub[0].agent "sub" has the URL form "sub", which separates sub-agents in URLs; rename the class'],
    ["a class with a slash", steps({ agent: "chat/thread", name: "x" }), 'sub[0].agent "chat/thread" has the URL form "chat/thread", which is not one plain URL path segment'],
    ["a class with a space", steps({ agent: "Chat Thread", name: "x" }), 'sub[0].agent "Chat Thread" has the URL form "chat -thread", which is not one plain URL path segment'],
    ["a class with a percent sign", steps({ agent: "a%2F", name: "x" }), 'sub[0].agent "a%2F" has the URL form "a%2-f", which is not one plain URL path segment'],
    ["the class ..", steps({ agent: "..", name: "x" }), 'sub[0].agent ".." has the URL form "..", which is not one plain URL path segment'],
    ["the name ..", steps({ agent: "ChatThread", name: ".." }), 'sub[0].name ".." cannot be used: URLs drop "." and ".." path segments'],
    ["the name .", steps({ agent: "ChatThread", name: "." }), 'sub[0].name "." cannot be used: URLs drop "." and ".." path segments'],
    ["a NUL in the name", steps({ agent: "ChatThread", name: "a\0b" }), "sub[0].name must not contain NUL characters"],
    ["an unpaired surrogate", steps({ agent: "ChatThread", name: "a\uD800" }), "sub[0].name must be well-formed Unicode (it has an unpaired surrogate)"],
  ];

  test.each(cases)("%s", (_label, sub, detail) => {
    const message = `Invalid sub-agent address: ${detail}`;
    expect(() => agentPath({ agent: "Inbox", name: "ada", sub })).toThrow(new TypeError(message));
  });

  test("sub must be an array", () => {
    const sub = { agent: "ChatThread", name: "t1" } as unknown as AgentPathStep[];
    expect(() => agentPath({ agent: "Inbox", sub })).toThrow(
      new TypeError("Invalid sub-agent address: sub must be an array of { agent, name } steps, root first (got an object)"),
    );
  });

  test("AgentClient throws before it opens a socket; agentFetch rejects before it sends", async () => {
    const sub = steps({ agent: "ChatThread", name: "" });
    const message = "Invalid sub-agent address: sub[0].name must be a non-empty string, the sub-agent's instance name (got \"\")";
    expect(() => new AgentClient({ host: "127.0.0.1:9", agent: "Inbox", sub })).toThrow(new TypeError(message));
    let fetched = false;
    const fetch = (() => {
      fetched = true;
      return Promise.resolve(new Response());
    }) as unknown as typeof globalThis.fetch;
    await expect(agentFetch({ host: "127.0.0.1:9", agent: "Inbox", sub, fetch })).rejects.toThrow(new TypeError(message));
    expect(fetched).toBe(false);
  });

  test("AgentClient reports the last step as agent and name, and the whole address as agentPath", () => {
    const client = new AgentClient({
      host: "127.0.0.1:9",
      agent: "Inbox",
      startClosed: true,
      sub: [
        { agent: "ChatThread", name: "t1" },
        { agent: "Note", name: "n/1" },
      ],
    });
    expect({ agent: client.agent, name: client.name }).toEqual({ agent: "note", name: "n/1" });
    expect(client.agentPath).toEqual([
      { agent: "Inbox", name: "default" },
      { agent: "ChatThread", name: "t1" },
      { agent: "Note", name: "n/1" },
    ]);
    expect(Object.isFrozen(client.agentPath)).toBe(true);
    expect(client.roomUrl).toBe("ws://127.0.0.1:9/agents/inbox/default/sub/chat-thread/t1/sub/note/n%2F1");
    client.close();
  });
});

describe("agentSteps of placeholder steps (a disabled useAgent)", () => {
  test("missing or odd values become empty strings instead of throwing", () => {
    expect(agentSteps({ agent: "Inbox", name: "a", sub: steps(null, { agent: "ChatThread" }, { name: 5 }) })).toEqual([
      { agent: "Inbox", name: "a" },
      { agent: "", name: "" },
      { agent: "ChatThread", name: "" },
      { agent: "", name: "" },
    ]);
  });
});
