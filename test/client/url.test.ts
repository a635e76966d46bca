/** URL building shared by `AgentClient`, `agentFetch` and `useAgent`. */
import { describe, expect, test } from "vitest";
import { agentPath, agentUrl, encodeInstanceName } from "../../src/client/index.ts";
import { resolveHost } from "../../src/client/url.ts";

describe("agentPath", () => {
  test("kebab-cases the class and encodes the name as one segment", () => {
    expect(agentPath({ agent: "ChatRoom", name: "team/α" })).toBe("/agents/chat-room/team%2F%CE%B1");
    expect(agentPath({ agent: "Counter" })).toBe("/agents/counter/default");
    expect(agentPath({ agent: "Counter", name: "" })).toBe("/agents/counter/default");
  });

  test("takes any prefix, with or without slashes, or none", () => {
    expect(agentPath({ agent: "Counter", name: "a", prefix: "/api/v1/" })).toBe("/api/v1/counter/a");
    expect(agentPath({ agent: "Counter", name: "a", prefix: "" })).toBe("/counter/a");
  });

  test("every encoded name decodes back to itself", () => {
    for (const name of ["a/b", "?#%", "..x", "🎉", " "]) {
      expect(decodeURIComponent(encodeInstanceName(name))).toBe(name);
      expect(new URL(`http://h/agents/c/${encodeInstanceName(name)}`).pathname).toBe(
        `/agents/c/${encodeInstanceName(name)}`,
      );
    }
  });
});

describe("resolveHost", () => {
  test("an explicit protocol wins, then the scheme written in host", () => {
    expect(resolveHost("example.com", "ws")).toEqual({ host: "example.com", secure: false });
    expect(resolveHost("https://example.com/", undefined)).toEqual({ host: "example.com", secure: true });
    expect(resolveHost("http://example.com:8080", undefined)).toEqual({ host: "example.com:8080", secure: false });
  });

  test("plain text for loopback and private addresses, TLS elsewhere", () => {
    for (const host of ["localhost:8787", "127.0.0.1:1", "10.1.2.3", "192.168.0.2:80", "172.20.0.1", "[::1]:8787"]) {
      expect(resolveHost(host).secure).toBe(false);
    }
    for (const host of ["example.com", "172.32.0.1", "8.8.8.8:443", "localhost.example.com"]) {
      expect(resolveHost(host).secure).toBe(true);
    }
  });
});

describe("agentUrl", () => {
  test("adds the sub-path and query parameters", () => {
    const url = agentUrl({
      host: "127.0.0.1:8787",
      agent: "Counter",
      name: "a/b",
      path: "items",
      query: { limit: "5", skip: undefined, token: "x y" },
    });
    expect(url).toBe("http://127.0.0.1:8787/agents/counter/a%2Fb/items?limit=5&token=x+y");
    expect(agentUrl({ host: "h.example", agent: "Counter", name: "n", path: "/x?y=1", query: { z: "2" } })).toBe(
      "https://h.example/agents/counter/n/x?y=1&z=2",
    );
  });
});
