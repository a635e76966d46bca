/**
 * What counts as a protocol frame: exactly what the Agents SDK's `isRPCRequest` (a string `id`, a
 * string `method`, an `args` array) and `isStateFrame` (a `state` field) accept; a frame that only
 * has their `type` is "invalid" (the class's onMessage gets it, see agent/frame-routing.test.ts).
 */
import { describe, expect, it } from "vitest";
import { parseIncoming } from "../../src/protocol/frames.ts";

const parse = (frame: unknown) => parseIncoming(JSON.stringify(frame));

describe("parseIncoming", () => {
  it("takes as RPC requests and state frames only what the Agents SDK takes", () => {
    expect(parse({ type: "rpc", id: "1", method: "inc", args: [2] })).toEqual({ kind: "rpc", frame: { type: "rpc", id: "1", method: "inc", args: [2] } });
    // isRPCRequest only asks for a string: an empty id or method is still a request (answered as one).
    expect(parse({ type: "rpc", id: "", method: "", args: [] }).kind).toBe("rpc");
    expect(parse({ type: "cf_agent_state", state: null })).toEqual({ kind: "state", frame: { type: "cf_agent_state", state: null } });
  });

  it("calls a frame with a protocol type but not its fields invalid, with the id an RPC reply can carry", () => {
    expect(parse({ type: "rpc", id: 5, method: "inc", args: [] })).toEqual({ kind: "invalid", error: 'RPC frame needs a string "id"' });
    expect(parse({ type: "rpc", id: "a", method: 7, args: [] })).toEqual({ kind: "invalid", id: "a", error: 'RPC frame needs a string "method"' });
    expect(parse({ type: "rpc", id: "b", method: "inc" })).toEqual({ kind: "invalid", id: "b", error: 'RPC frame needs an "args" array' });
    expect(parse({ type: "rpc", id: "c", method: "inc", args: "x" })).toEqual({ kind: "invalid", id: "c", error: 'RPC "args" must be an array' });
    expect(parse({ type: "rpc", id: "", method: "inc" })).toEqual({ kind: "invalid", error: 'RPC frame needs an "args" array' });
    expect(parse({ type: "cf_agent_state" })).toEqual({ kind: "invalid", error: 'cf_agent_state frame needs a "state" field' });
  });

  it("leaves everything else to onMessage", () => {
    expect(parseIncoming("plain text")).toEqual({ kind: "other" });
    expect(parseIncoming("{broken")).toEqual({ kind: "other" });
    expect(parse({ type: "mystery", id: 5 })).toEqual({ kind: "other", frame: { type: "mystery", id: 5 } });
  });
});
