// Server ids as the Agents SDK makes them: a given `{ id }` is normalised with its rule (lowercase,
// runs of other characters → "-", trimmed, "id-" before a non-letter, at most 64 characters);
// generated ids already satisfy the rule; AI tool keys drop the id's hyphens (tool_<id>_<tool>);
// mounting a known server with a new id renames it, OAuth tokens included.
import { afterEach, describe, expect, it } from "vitest";
import { MCP_SERVER_ID_MAX_LENGTH, normalizeServerId, toolKey } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

describe("normalizeServerId", () => {
  it("follows the Agents SDK's rule", () => {
    expect(normalizeServerId("my-supplied-id")).toBe("my-supplied-id");
    expect(normalizeServerId("slack_v2")).toBe("slack_v2");
    expect(normalizeServerId("GitHub MCP!")).toBe("github-mcp");
    expect(normalizeServerId("foo/bar.baz")).toBe("foo-bar-baz");
    expect(normalizeServerId("foo - - bar")).toBe("foo-bar");
    expect(normalizeServerId("-_foo_-")).toBe("foo");
    expect(normalizeServerId("42-things")).toBe("id-42-things");
    expect(normalizeServerId("_underscore_first")).toBe("underscore_first");
    expect(normalizeServerId("")).toBe("id");
    expect(normalizeServerId("!!!")).toBe("id");
    expect(normalizeServerId("a".repeat(100))).toBe("a".repeat(MCP_SERVER_ID_MAX_LENGTH));
    expect(normalizeServerId(`${"a".repeat(63)}-tail`)).toBe("a".repeat(63));
    for (const sample of ["GitHub MCP!", "42-things", "---foo---", "!!!", "x".repeat(200)]) {
      expect(normalizeServerId(normalizeServerId(sample))).toBe(normalizeServerId(sample));
    }
    expect(() => normalizeServerId(7 as never)).toThrow(TypeError);
  });

  it("gives AI tool keys the Agents SDK's form, safe for model APIs even for long ids", () => {
    expect(toolKey("my-docs", "search")).toBe("tool_mydocs_search");
    expect(toolKey("slack_v2", "post")).toBe("tool_slack_v2_post");
    const long = toolKey(normalizeServerId("x".repeat(64)), "search");
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^tool_x+_search$/);
  });
});

describe("ids of mounted servers", () => {
  let t: TestEnv;
  let remote: RemoteServer;
  let as: OAuthServer | undefined;

  afterEach(async () => {
    await t.close();
    await remote.close();
    await as?.close();
    as = undefined;
  });

  it("normalises a given id, and keeps tool keys apart when two ids meet without their hyphens", async () => {
    remote = await startRemoteServer();
    t = await createTestEnv({ agents: { Assistant }, time: "system" });
    const agent = t.get<Assistant>("Assistant", "a");
    expect(await agent.mount("GitHub", remote.url, { id: "GitHub MCP!" })).toEqual({ id: "github-mcp", state: "ready" });
    expect(await agent.mount("Other", remote.sseUrl, { id: "githubmcp", transport: "sse" })).toEqual({ id: "githubmcp", state: "ready" });
    const keys = await agent.aiToolNames();
    expect(keys.slice(0, 2)).toEqual(["tool_githubmcp_add", "tool_githubmcp_echo"]);
    expect(keys.slice(2)).toEqual([expect.stringMatching(/^tool_githubmcp_add_[0-9a-f]{8}$/), expect.stringMatching(/^tool_githubmcp_echo_[0-9a-f]{8}$/)]);
    expect(await agent.runAITool(keys[2]!, { a: 2, b: 3 })).toEqual({ content: [{ type: "text", text: "5" }] });
    expect(await agent.tryMount("Third", `${remote.url}?third`, { id: "GITHUB-MCP" })).toMatchObject({ ok: false, error: expect.stringMatching(/"github-mcp" is already used by "GitHub"/) });
  });

  it("generates ids that normalisation leaves as they are", async () => {
    remote = await startRemoteServer();
    t = await createTestEnv({ agents: { Assistant }, time: "system" });
    const agent = t.get<Assistant>("Assistant", "a");
    for (let i = 0; i < 5; i++) {
      const { id } = await agent.mount(`remote-${i}`, remote.url);
      expect(id).toMatch(/^[a-z][a-z0-9]{7}$/);
      expect(normalizeServerId(id)).toBe(id);
    }
  });

  it("renames a server mounted again with a new id, and keeps its OAuth tokens", async () => {
    as = await startOAuthServer();
    remote = await startRemoteServer({ auth: { issuer: as.url, jwksUrl: as.jwksUrl, isActive: (token) => as!.isActive(token) } });
    t = await createTestEnv({ agents: { Assistant }, time: "system" });
    const agent = t.get<Assistant>("Assistant", "a");
    const first = (await agent.mount("protected", remote.url, { callbackHost: await t.url() })) as { id: string; authUrl: string };
    const atServer = await fetch(first.authUrl, { redirect: "manual" });
    expect((await fetch(atServer.headers.get("location")!, { redirect: "manual" })).status).toBe(302);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[first.id]?.state === "ready",
    );

    expect(await agent.mount("protected", remote.url, { id: "Protected" })).toEqual({ id: "protected", state: "ready" });
    expect(Object.keys((await agent.servers()).servers)).toEqual(["protected"]);
    expect(await agent.oauthRows()).toEqual(["protected"]);
    expect(await agent.call("protected", "add", { a: 1, b: 1 })).toEqual({ content: [{ type: "text", text: "2" }] });
    expect(as.stats).toMatchObject({ authorizations: 1, codeExchanges: 1 });
    await t.restart();
    const woken = t.get<Assistant>("Assistant", "a");
    expect(await woken.call("protected", "echo", { text: "kept" })).toEqual({ content: [{ type: "text", text: "kept" }] });
    expect(as.stats.authorizations).toBe(1);
  });
});
