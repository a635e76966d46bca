import { describe, expect, it } from "vitest";
import { viewerEvent, viewerText } from "../../src/inspector/viewer-event.ts";

describe("what an inspector viewer sees of secrets in URLs", () => {
  it("shows URLs inside a text without userinfo and with their query's values as …", () => {
    expect(viewerText("POST https://alice:p@ss@mcp.example.com/mcp?api_key=k3y&x=1 answered 401")).toBe("POST https://mcp.example.com/mcp?api_key=…&x=… answered 401");
    expect(viewerText('connect "wss://h.example/ws?token=t0k" refused')).toBe('connect "wss://h.example/ws?token=…" refused');
    expect(viewerText("no URL here: a plain message")).toBe("no URL here: a plain message");
  });

  it("changes only the MCP client's events, and leaves the event given to it as it was", () => {
    const rpc = { type: "rpc", payload: { method: "https://x/?a=b" }, timestamp: 1 };
    expect(viewerEvent(rpc)).toBe(rpc);
    const event = { type: "mcp:client:connect", agent: "A", name: "a", payload: { url: "https://u:p@h/mcp?k=v", transport: "sse", state: "failed", error: "GET https://h/mcp?k=v: 500" }, timestamp: 1 };
    expect(viewerEvent(event)).toEqual({ ...event, payload: { url: "https://h/mcp?k=…", transport: "sse", state: "failed", error: "GET https://h/mcp?k=…: 500" } });
    expect(event.payload.url).toBe("https://u:p@h/mcp?k=v");
  });
});
