/**
 * `routeAgentRequest`'s `routingRetry`, the Agents SDK's retry of Durable Object infrastructure
 * errors: checked as the SDK checks it (a policy it refuses throws its error, where it throws it), and
 * no retry of Hearth's own. An agent's exception, whatever it carries, is its own: it reaches the
 * worker once and the agent ran once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, routeAgentRequest, type AgentNamespace } from "../../src/index.ts";
import type { RoutingRetryOptions } from "../../src/gateway/route.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";

let requests = 0;

class Desk extends Agent {
  onRequest(request: Request): Response {
    requests++;
    // Marked as the Workers runtime marks a transient infrastructure error: still the agent's own.
    if (new URL(request.url).searchParams.has("fail")) throw Object.assign(new Error("the desk failed"), { retryable: true });
    return Response.json({ name: this.name });
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  requests = 0;
});

const route = (path: string, routingRetry: false | RoutingRetryOptions | undefined, init?: RequestInit) =>
  routeAgentRequest(new Request(`http://localhost${path}`, init), harness!.host.env, routingRetry === undefined ? {} : { routingRetry });

describe("routeAgentRequest's routingRetry", () => {
  it("refuses a policy the SDK refuses, with the SDK's error, before the agent is reached", async () => {
    harness = await startHarness({ Desk });
    const refused: Array<[RoutingRetryOptions, string]> = [
      [{ maxAttempts: 0 }, "routingRetry.maxAttempts must be >= 1"],
      [{ maxAttempts: Number.NaN }, "routingRetry.maxAttempts must be >= 1"],
      [{ maxAttempts: 2.5 }, "routingRetry.maxAttempts must be an integer"],
      [{ baseDelayMs: 0 }, "routingRetry.baseDelayMs must be > 0"],
      [{ maxDelayMs: Number.POSITIVE_INFINITY }, "routingRetry.maxDelayMs must be > 0"],
      // Checked against the SDK's default cap (800 ms).
      [{ baseDelayMs: 1_000 }, "routingRetry.baseDelayMs must be <= maxDelayMs"],
      [{ baseDelayMs: 50, maxDelayMs: 20 }, "routingRetry.baseDelayMs must be <= maxDelayMs"],
    ];
    for (const [policy, message] of refused) {
      await expect(route("/agents/desk/a", policy), JSON.stringify(policy)).rejects.toThrow(message);
      await expect(route("/agents/desk/a", policy, { headers: { upgrade: "websocket", connection: "Upgrade" } })).rejects.toThrow(message);
    }
    expect(requests).toBe(0);
  });

  it("is not checked where the SDK does not reach the agent: a path of no agent, a hook's answer", async () => {
    harness = await startHarness({ Desk });
    const policy = { maxAttempts: 0 };
    expect(await route("/elsewhere", policy)).toBeNull();
    const answered = await routeAgentRequest(new Request("http://localhost/agents/desk/a"), harness.host.env, {
      routingRetry: policy,
      onBeforeRequest: () => new Response("no", { status: 403 }),
    });
    expect(answered?.status).toBe(403);
  });

  it("takes the SDK's valid policies, `false` and the defaults, and reaches the agent once with each", async () => {
    harness = await startHarness({ Desk });
    const onRetry = () => {
      throw new Error("no retry is made");
    };
    for (const policy of [undefined, false, {}, { maxAttempts: 1 }, { maxAttempts: 5, baseDelayMs: 800, maxDelayMs: 800, onRetry }] as const) {
      expect(await (await route("/agents/desk/a", policy))?.json(), JSON.stringify(policy)).toEqual({ name: "a" });
    }
    expect(requests).toBe(5);
  });

  it("does not run an agent's request again when its exception is marked retryable", async () => {
    harness = await startHarness({ Desk });
    let retried = 0;
    const errors = loggedErrors();
    try {
      await expect(route("/agents/desk/a?fail", { maxAttempts: 3, onRetry: () => void retried++ })).rejects.toThrow("the desk failed");
    } finally {
      errors.restore();
    }
    expect({ requests, retried, logged: errors.text().match(/the desk failed/g)?.length }).toEqual({ requests: 1, retried: 0, logged: 1 });
  });
});

describe("getAgentByName's routingRetry", () => {
  it("takes the option and checks it as routeAgentRequest does, before the agent is reached", async () => {
    harness = await startHarness({ Desk });
    const env = harness.host.env as { Desk: AgentNamespace<Desk> };
    await expect(getAgentByName(env.Desk, "a", { routingRetry: { maxAttempts: 0 } })).rejects.toThrow("routingRetry.maxAttempts must be >= 1");
    await expect(getAgentByName(env.Desk, "a", { routingRetry: { baseDelayMs: 1_000 }, props: { plan: "pro" } })).rejects.toThrow("routingRetry.baseDelayMs must be <= maxDelayMs");
    for (const routingRetry of [false, {}, { maxAttempts: 2, onRetry: () => {} }] as const) {
      const stub = await getAgentByName(env.Desk, "a", { routingRetry });
      expect(await (await stub.fetch("http://localhost/")).json()).toEqual({ name: "a" });
    }
    expect(requests).toBe(3);
  });
});
