import { channel, subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from "node:diagnostics_channel";
import { afterEach, describe, expect, it } from "vitest";
import {
  channelKeyOf,
  channelName,
  channels,
  emitAgentEvent,
  genericObservability,
  subscribe,
  wantsEvent,
  type ObservabilityEvent,
} from "../../src/events/index.ts";
import { MAPPED_MODULES } from "../../src/compat/module-map.ts";

class Probe {
  name = "probe-1";
}

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe("agents:* channels", () => {
  it("has the SDK's fifteen channels under their diagnostics names", () => {
    expect(Object.entries(channels).map(([key, c]) => [key, c.name])).toEqual([
      ["state", "agents:state"],
      ["rpc", "agents:rpc"],
      ["message", "agents:message"],
      ["chat", "agents:chat"],
      ["transcript", "agents:transcript"],
      ["fiber", "agents:fiber"],
      ["task", "agents:task"],
      ["stream", "agents:stream"],
      ["agentTool", "agents:agent_tool"],
      ["schedule", "agents:schedule"],
      ["lifecycle", "agents:lifecycle"],
      ["workflow", "agents:workflow"],
      ["mcp", "agents:mcp"],
      ["email", "agents:email"],
      ["channel", "agents:channel"],
    ]);
    expect(channelName("agentTool")).toBe("agents:agent_tool");
    expect(channels.rpc).toBe(channel("agents:rpc")); // the very objects node:diagnostics_channel hands out
  });

  it("routes each event type to the SDK's channel", () => {
    const routes = {
      "state:update": "state",
      rpc: "rpc",
      "rpc:error": "rpc",
      "message:request": "message",
      "tool:result": "message",
      "chat:turn:start": "chat",
      "chat:transcript:repaired": "transcript",
      "fiber:run:started": "fiber",
      "schedule:create": "schedule",
      "queue:error": "schedule",
      connect: "lifecycle",
      disconnect: "lifecycle",
      destroy: "lifecycle",
      "workflow:start": "workflow",
      "mcp:client:connect": "mcp",
      "email:receive": "email",
      "agent_tool:recovery:begin": "agentTool",
      "channel:resolved": "channel",
      "notice:failed": "channel",
    };
    expect(Object.fromEntries(Object.keys(routes).map((type) => [type, channelKeyOf(type)]))).toEqual(routes);
  });
});

describe("emitAgentEvent", () => {
  it("builds nothing while nobody subscribes", () => {
    let built = 0;
    const build = () => {
      built++;
      return { method: "m" };
    };
    emitAgentEvent(new Probe(), "rpc", build);
    expect(built).toBe(0);
    const stop = subscribe("state", () => {}); // a listener on another channel changes nothing
    emitAgentEvent(new Probe(), "rpc", build);
    stop();
    expect(built).toBe(0);
  });

  it("publishes { type, agent, name, payload, timestamp } to subscribe() and to node:diagnostics_channel alike", () => {
    const seen: ObservabilityEvent[] = [];
    const raw: unknown[] = [];
    stops.push(subscribe("rpc", (event) => seen.push(event)));
    const listener = (message: unknown, name: string | symbol) => raw.push([name, message]);
    subscribeChannel("agents:rpc", listener);
    stops.push(() => unsubscribeChannel("agents:rpc", listener));
    let built = 0;
    emitAgentEvent(new Probe(), "rpc", () => {
      built++;
      return { method: "increment", streaming: false };
    });
    expect(built).toBe(1);
    expect(seen).toEqual([
      { type: "rpc", agent: "Probe", name: "probe-1", payload: { method: "increment", streaming: false }, timestamp: expect.any(Number) },
    ]);
    expect(raw).toEqual([["agents:rpc", seen[0]]]);
  });

  it("stops delivering after unsubscribe", () => {
    const seen: unknown[] = [];
    const stop = subscribe("lifecycle", (event) => seen.push(event.type));
    emitAgentEvent(new Probe(), "destroy");
    stop();
    emitAgentEvent(new Probe(), "destroy");
    expect(seen).toEqual(["destroy"]);
    expect(channels.lifecycle.hasSubscribers).toBe(false);
  });

  it("keeps a throwing subscribe() callback from reaching the process: logged once per kind, later events still delivered", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    const delivered: string[] = [];
    const thrownAt: string[] = [];
    try {
      stops.push(
        subscribe("lifecycle", (event) => {
          thrownAt.push(event.type);
          throw new Error(`buggy subscriber on ${event.type}`);
        }),
      );
      stops.push(subscribe("lifecycle", (event) => delivered.push(event.type)));
      expect(() => emitAgentEvent(new Probe(), "destroy")).not.toThrow();
      expect(() => emitAgentEvent(new Probe(), "destroy")).not.toThrow();
      // Node's diagnostics_channel rethrows a handler's error on the next tick: let that pass.
      await new Promise<void>((resolve) => setImmediate(resolve));
      emitAgentEvent(new Probe(), "connect", () => ({ connectionId: "c1" }));
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      console.error = original;
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(thrownAt).toEqual(["destroy", "destroy", "connect"]);
    expect(delivered).toEqual(["destroy", "destroy", "connect"]);
    // The same error twice is logged once; another error of the same subscriber is logged too.
    expect(errors.map(([line, error]) => [line, (error as Error).message])).toEqual([
      ["[hearth] observability: a subscriber of agents:lifecycle threw (the event went on; errors like this one of this subscriber are not logged again):", "buggy subscriber on destroy"],
      ["[hearth] observability: a subscriber of agents:lifecycle threw (the event went on; errors like this one of this subscriber are not logged again):", "buggy subscriber on connect"],
    ]);
  });

  it("hands every event to an agent's own observability, subscribers or not", () => {
    class Logged extends Probe {
      readonly log: ObservabilityEvent[] = [];
      observability = { emit: (event: ObservabilityEvent) => this.log.push(event) };
    }
    const agent = new Logged();
    emitAgentEvent(agent, "connect", () => ({ connectionId: "c1" }));
    expect(agent.log).toEqual([{ type: "connect", agent: "Logged", name: "probe-1", payload: { connectionId: "c1" }, timestamp: expect.any(Number) }]);
  });

  it("emits nothing, and builds nothing, for an agent whose observability is undefined", () => {
    class Quiet extends Probe {
      observability = undefined;
    }
    const seen: unknown[] = [];
    stops.push(subscribe("lifecycle", (event) => seen.push(event)));
    let built = 0;
    emitAgentEvent(new Quiet(), "connect", () => {
      built++;
      return { connectionId: "c1" };
    });
    expect([built, seen]).toEqual([0, []]);
  });

  it("drops the event when the builder returns undefined, and never throws", () => {
    const seen: unknown[] = [];
    stops.push(subscribe("schedule", (event) => seen.push(event)));
    emitAgentEvent(new Probe(), "schedule:cancel", () => undefined);
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args[0]);
    try {
      expect(() =>
        emitAgentEvent(new Probe(), "schedule:cancel", () => {
          throw new Error("boom");
        }),
      ).not.toThrow();
    } finally {
      console.error = original;
    }
    expect(seen).toEqual([]);
    expect(errors).toEqual(["[hearth] observability: emitting schedule:cancel failed:"]);
  });

  it("genericObservability publishes an event built elsewhere on its channel", () => {
    const seen: unknown[] = [];
    stops.push(subscribe("email", (event) => seen.push(event.payload)));
    genericObservability.emit({ type: "email:receive", payload: { from: "a@x.test", to: "b@x.test" }, timestamp: 1 });
    expect(seen).toEqual([{ from: "a@x.test", to: "b@x.test" }]);
  });
});

describe("agents/observability", () => {
  it("resolves to this module for Cloudflare code", async () => {
    const mapped = MAPPED_MODULES["agents/observability"]!;
    const module = (await import(mapped.url)) as Record<string, unknown>;
    expect(module.subscribe).toBe(subscribe);
    expect(module.genericObservability).toBe(genericObservability);
    expect(typeof module.experimental_registerOpenTelemetry).toBe("function");
  });
});

describe("wantsEvent", () => {
  it("is true only when the event would go somewhere", () => {
    class Quiet extends Probe {
      observability = undefined;
    }
    class Own extends Probe {
      observability = { emit: () => {} };
    }
    expect(wantsEvent(new Probe(), "rpc")).toBe(false);
    expect(wantsEvent(new Own(), "rpc")).toBe(true);
    const stop = subscribe("rpc", () => {});
    try {
      expect([wantsEvent(new Probe(), "rpc"), wantsEvent(new Probe(), "connect"), wantsEvent(new Quiet(), "rpc")]).toEqual([true, false, false]);
    } finally {
      stop();
    }
  });
});
