/**
 * What the mapped modules export: `agents` is Hearth's API under the Agents SDK's names, and
 * `cloudflare:workers`' `env` is a live, read-only view of the worker's env.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as agents from "../../src/compat/agents.ts";
import * as agentsMcpServer from "../../src/compat/agents-mcp-server.ts";
import * as hearthMcp from "../../src/mcp/index.ts";
import * as workers from "../../src/compat/cloudflare-workers.ts";
import { EmailMessage } from "../../src/compat/cloudflare-email.ts";
import { NonRetryableError } from "../../src/compat/cloudflare-workflows.ts";
import * as hearth from "../../src/index.ts";
import { setWorkerEnv } from "../../src/worker/worker-env.ts";

afterEach(() => {
  setWorkerEnv({});
});

describe('"agents"', () => {
  it("is Hearth's API, with the SDK's extra names", () => {
    for (const name of ["Agent", "routeAgentRequest", "routeAgentEmail", "getAgentByName", "getCurrentAgent", "callable", "StreamingResponse"] as const) {
      expect(agents[name], name).toBe(hearth[name]);
    }
    expect(agents.unstable_callable).toBe(hearth.callable);
    expect(agents.camelCaseToKebabCase("ChatRoom")).toBe("chat-room");
  });
});

describe('"agents/mcp/server"', () => {
  it("exports what the Agents SDK's subpath exports, as Hearth's stateless MCP endpoint", () => {
    expect(Object.keys(agentsMcpServer).sort()).toEqual(["createMcpHandler", "getMcpAuthContext"]);
    expect(agentsMcpServer.createMcpHandler).toBe(hearthMcp.createMcpHandler);
    expect(agentsMcpServer.getMcpAuthContext).toBe(hearthMcp.getMcpAuthContext);
  });
});

describe('"cloudflare:workers"', () => {
  it("env follows the env set last, key by key", () => {
    const { env } = workers;
    expect(env.APP).toBeUndefined();
    setWorkerEnv({ APP: "first" });
    expect(env.APP).toBe("first");
    const bindings = { APP: "second", KV: { get: () => null } };
    setWorkerEnv(bindings);
    expect(env.APP).toBe("second");
    expect(env.KV).toBe(bindings.KV);
    expect("KV" in env).toBe(true);
    expect("MISSING" in env).toBe(false);
    expect(Object.keys(env)).toEqual(["APP", "KV"]);
    expect({ ...env }).toEqual(bindings);
    expect(JSON.stringify(env)).toBe('{"APP":"second","KV":{}}');
  });

  it("writes to env go through to the worker's env and stay when the host's env replaces it, as workerd's env does", () => {
    const first: Record<string, unknown> = { APP: "first" };
    setWorkerEnv(first);
    (workers.env as Record<string, unknown>).APP = "changed";
    (workers.env as Record<string, unknown>).EXTRA = 1;
    delete (workers.env as Record<string, unknown>).GONE;
    expect(first).toEqual({ APP: "changed", EXTRA: 1 });
    const host: Record<string, unknown> = { APP: "first", GONE: true, KV: {} };
    setWorkerEnv(host, true);
    expect(host).toEqual({ APP: "changed", EXTRA: 1, KV: {} });
    setWorkerEnv({ APP: "next load" }); // a new load (a reload under hearth dev) starts clean
    expect({ ...workers.env }).toEqual({ APP: "next load" });
  });

  it("WorkerEntrypoint keeps ctx and env; RpcTarget and WorkflowEntrypoint are Hearth's", () => {
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: { user: "ada" } };
    class Worker extends workers.WorkerEntrypoint<{ APP: string }, { user: string }> {
      user() {
        return `${this.ctx.props.user} on ${this.env.APP}`;
      }
    }
    expect(new Worker(ctx, { APP: "demo" }).user()).toBe("ada on demo");
    class Counter extends workers.RpcTarget {}
    expect(new Counter()).toBeInstanceOf(workers.RpcTarget);
    expect(workers.WorkflowEntrypoint).toBe(hearth.WorkflowEntrypoint);
    expect(typeof workers.waitUntil).toBe("function");
  });
});

describe('"cloudflare:email" and "cloudflare:workflows"', () => {
  it("are Hearth's EmailMessage and NonRetryableError", () => {
    expect(EmailMessage).toBe(hearth.EmailMessage);
    const message = new EmailMessage("bot@example.com", "ada@example.com", "Subject: Hi\r\n\r\nHello\r\n");
    expect([message.from, message.to]).toEqual(["bot@example.com", "ada@example.com"]);
    expect(NonRetryableError).toBe(hearth.NonRetryableError);
    expect(new NonRetryableError("stop")).toBeInstanceOf(Error);
  });
});
