/**
 * The type signatures of `hearth/client` and `hearth/react` as front ends written for the Agents
 * SDK use them: `<AgentT, State>` type parameters with a typed stub, and Hearth's earlier
 * `<State, Methods>` order. The assertions are checked by the type checker (`tsc`); the runtime
 * part checks that the typed client still talks to a real agent.
 */
import type { UIMessage } from "ai";
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "vitest";
import type { Agent } from "../../src/platform/agent.ts";
import { AgentClient } from "../../src/client/index.ts";
import type { AgentBaseMember, AgentStub, AgentSocketOptions, ClientParameters } from "../../src/client/index.ts";
import { useAgent, useAgentChat } from "../../src/react/index.ts";
import type { AgentSocket } from "../../src/react/index.ts";
import type { Counter, CounterState, RunningServer } from "./fixture.ts";
import { startServer } from "./fixture.ts";
import { uniqueName } from "./helpers.ts";

interface CounterMethods {
  increment(by?: number): number;
  getCount(): number;
}

const host = "127.0.0.1:1";

describe("types", () => {
  test("every public member of Agent is hidden from typed stubs", () => {
    type Members = Exclude<keyof Agent<unknown, unknown>, symbol>;
    type Unlisted = Exclude<Members, AgentBaseMember>;
    type Stale = Exclude<AgentBaseMember, Members>;
    // A type error here names the key: add it to AgentBaseMember (src/client/agent-types.ts), or remove it there.
    const unlisted: [Unlisted] extends [never] ? "none" : Unlisted = "none";
    const stale: [Stale] extends [never] ? "none" : Stale = "none";
    expect([unlisted, stale]).toEqual(["none", "none"]);
  });

  test("AgentClient<AgentT, State>: a stub and call typed from the agent class", () => {
    const client = new AgentClient<Counter, CounterState>({
      host,
      agent: "Counter",
      startClosed: true,
      onStateUpdate: (state) => expectTypeOf(state).toEqualTypeOf<CounterState>(),
    });
    expectTypeOf(client.state).toEqualTypeOf<CounterState | undefined>();
    expectTypeOf(client.stub.increment).toEqualTypeOf<(by?: number) => Promise<number>>();
    // The StreamingResponse of a streaming callable is the server's, not an argument.
    expectTypeOf(client.stub.countdown).toEqualTypeOf<(from: number) => Promise<void>>();
    expectTypeOf(client.stub.waitForGate).toEqualTypeOf<() => Promise<string>>();
    // @ts-expect-error members every agent has are not on the stub
    void client.stub.setState;
    // Type-checked only: a closed client's calls would just be rejected.
    const calls = () => {
      expectTypeOf(client.call("increment", [2])).toEqualTypeOf<Promise<number>>();
      expectTypeOf(client.call("getCount")).toEqualTypeOf<Promise<number>>();
      expectTypeOf(client.call("countdown", [3], { onChunk: () => {} })).toEqualTypeOf<Promise<void>>();
      // @ts-expect-error a method that needs arguments needs its argument list
      void client.call("countdown");
      // @ts-expect-error wrong argument type
      void client.call("increment", ["two"]);
      // @ts-expect-error not a method of the agent
      void client.call("noSuchMethod");
    };
    expectTypeOf(calls).toBeFunction();
    client.close();
  });

  test("AgentClient<AgentT> takes the agent's own state type", () => {
    const client = new AgentClient<Counter>({ host, agent: "Counter", startClosed: true });
    expectTypeOf(client.state).toEqualTypeOf<CounterState | undefined>();
    expectTypeOf(client.setState).parameter(0).toEqualTypeOf<CounterState>();
    client.close();
  });

  test("AgentClient<State> and inferred state: untyped stub and call, as in the Agents SDK", async () => {
    const client = new AgentClient<CounterState>({ host, agent: "Counter", startClosed: true });
    expectTypeOf(client.state).toEqualTypeOf<CounterState | undefined>();
    const typedAsNeeded = async (): Promise<number> => {
      // Results are `any`, as the SDK has them (`?.` only because this project checks index access).
      const next: number = await client.stub.increment?.(1);
      const count: number = await client.call("getCount");
      return next + count + (await client.call<number>("getCount"));
    };
    expectTypeOf(typedAsNeeded).toBeFunction();
    const inferred = new AgentClient({
      host,
      agent: "Counter",
      startClosed: true,
      onStateUpdate: (state: CounterState) => void state,
    });
    expectTypeOf(inferred.state).toEqualTypeOf<CounterState | undefined>();
    client.close();
    inferred.close();
  });

  test("Hearth's earlier AgentClient<State, Methods> still types the stub from the interface", () => {
    const client = new AgentClient<CounterState, CounterMethods>({
      host,
      agent: "Counter",
      startClosed: true,
      onStateUpdate: (state) => expectTypeOf(state).toEqualTypeOf<CounterState>(),
    });
    expectTypeOf(client.stub.increment).toEqualTypeOf<(by?: number) => Promise<number>>();
    expectTypeOf(client.call<string>).toBeCallableWith("anyMethod", [1, "x"]);
    expectTypeOf(client.call<string>).returns.toEqualTypeOf<Promise<string>>();
    client.close();
  });

  test("a generic wrapper over AgentClient<State, Methods> compiles", () => {
    function connect<State, Methods extends object>(options: Omit<AgentSocketOptions<State>, "agent">) {
      return new AgentClient<State, Methods>({ ...options, host, agent: "Counter", startClosed: true });
    }
    const client = connect<CounterState, CounterMethods>({});
    expectTypeOf(client.state).toEqualTypeOf<CounterState | undefined>();
    client.close();
  });

  test("AgentClient is still a class: instanceof, PartySocket's statics", () => {
    const client: unknown = new AgentClient({ host, agent: "Counter", startClosed: true });
    expect(client instanceof AgentClient).toBe(true);
    if (client instanceof AgentClient) {
      expectTypeOf(client.ready).toEqualTypeOf<Promise<void>>();
      client.close();
    }
    expectTypeOf(AgentClient.fetch).toBeFunction();
  });

  test("AgentStub and ClientParameters", () => {
    expectTypeOf<AgentStub<Counter>["getCount"]>().toEqualTypeOf<() => Promise<number>>();
    expectTypeOf<ClientParameters<Counter["countdown"]>>().toEqualTypeOf<[from: number]>();
  });

  test("useAgent and useAgentChat accept every order of type arguments", () => {
    // Hooks only run inside a component; this one is only type-checked.
    function Component() {
      const sdk = useAgent<Counter, CounterState>({ agent: "Counter", onStateUpdate: (state) => void state.count });
      expectTypeOf(sdk.state).toEqualTypeOf<CounterState | undefined>();
      expectTypeOf(sdk.stub.increment).toEqualTypeOf<(by?: number) => Promise<number>>();
      expectTypeOf(sdk.call("getCount")).toEqualTypeOf<Promise<number>>();
      expectTypeOf(sdk.ready).toEqualTypeOf<Promise<void>>();
      expectTypeOf(sdk.path).toEqualTypeOf<ReadonlyArray<{ agent: string; name: string }>>();
      const single = useAgent<CounterState>({ agent: "Counter", onStateUpdate: (state) => void state.count });
      expectTypeOf(single).toEqualTypeOf<AgentSocket<CounterState>>();
      const hearth = useAgent<CounterState, CounterMethods>({ agent: "Counter" });
      expectTypeOf(hearth.stub.getCount).toEqualTypeOf<() => Promise<number>>();
      const inferred = useAgent({ agent: "Counter", onStateUpdate: (state: CounterState) => void state });
      expectTypeOf(inferred.state).toEqualTypeOf<CounterState | undefined>();
      type Message = UIMessage<{ at: number }>;
      const chat = useAgentChat<Message>({ agent: sdk });
      const sdkOrder = useAgentChat<CounterState, Message>({ agent: sdk });
      const stateOnly = useAgentChat<CounterState>({ agent: single });
      expectTypeOf(chat.messages).toEqualTypeOf<Message[]>();
      expectTypeOf(sdkOrder.messages).toEqualTypeOf<Message[]>();
      expectTypeOf(stateOnly.messages).toEqualTypeOf<UIMessage[]>();
    }
    expectTypeOf(Component).toBeFunction();
  });
});

describe("a client typed from the agent class against a real server", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test("calls through the typed stub and call, including a streaming method", async () => {
    const client = new AgentClient<Counter>({ host: server.url, agent: "Counter", name: uniqueName("typed") });
    try {
      expect(await client.stub.increment(2)).toBe(2);
      expect(await client.call("increment")).toBe(3);
      const chunks: unknown[] = [];
      await client.stub.countdown(2);
      await client.call("countdown", [2], { onChunk: (chunk) => chunks.push(chunk) });
      expect(chunks).toEqual([2, 1]);
      expect(client.state).toEqual({ count: 3 });
    } finally {
      client.close();
    }
  });
});
