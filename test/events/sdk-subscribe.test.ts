import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TS_HOOKS } from "../support/child.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./fixtures/sdk-subscriber.ts", import.meta.url));

describe("the Agents SDK's own agents/observability", () => {
  it("sees Hearth's events through its subscribe(), with the SDK's shapes", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", TS_HOOKS, SCRIPT], { cwd: ROOT, timeout: 60_000 });
    const { schedule, events } = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      schedule: string;
      events: Array<{ type: string; agent: string; name: string; payload: Record<string, unknown>; timestamp: number }>;
    };
    const connectionId = events.find((event) => event.type === "connect")!.payload.connectionId;
    expect(events.map(({ type, agent, name, payload }) => ({ type, agent, name, payload }))).toEqual([
      { type: "state:update", agent: "Counter", name: "sdk-1", payload: {} }, // initialState stored at the connect's first read
      { type: "connect", agent: "Counter", name: "sdk-1", payload: { connectionId } },
      { type: "state:update", agent: "Counter", name: "sdk-1", payload: {} },
      { type: "rpc", agent: "Counter", name: "sdk-1", payload: { method: "increment" } },
      { type: "schedule:create", agent: "Counter", name: "sdk-1", payload: { callback: "tick", id: schedule } },
      { type: "schedule:execute", agent: "Counter", name: "sdk-1", payload: { callback: "tick", id: schedule } },
      { type: "disconnect", agent: "Counter", name: "sdk-1", payload: { connectionId, code: 1000, reason: "" } },
    ]);
    expect(typeof connectionId).toBe("string");
    expect(events.every((event) => typeof event.timestamp === "number")).toBe(true);
  }, 90_000);
});
