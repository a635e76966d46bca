import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, DurableObject } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { raw } from "./fixture.ts";

class Page extends Agent<unknown, { text: string }> {
  override initialState = { text: "" };

  write(text: string): string {
    this.setState({ text });
    return text;
  }
}

class Book extends Agent {
  @callable()
  async page(name: string, text: string): Promise<string> {
    return (await this.subAgent(Page, name)).write(text);
  }

  @callable()
  rest(name: string): void {
    this.abortSubAgent(Page, name);
  }
}

class Counter extends DurableObject {
  async fetch(): Promise<Response> {
    return new Response("ok");
  }
}

let t: TestEnv | undefined;
let inspector: InspectorHandle | undefined;
afterEach(async () => {
  await inspector?.close();
  await t?.close();
  inspector = undefined;
  t = undefined;
});

async function start(): Promise<{ api: (path: string, init?: { method?: string; body?: unknown; admin?: boolean }) => ReturnType<typeof raw> }> {
  t = await createTestEnv({ agents: { Book }, host: { exportedClasses: { Page }, durableObjects: { COUNTER: Counter } } });
  inspector = await startInspector({ host: t.host, env: {} });
  const handle = inspector;
  return {
    api: (path, init = {}) =>
      raw(new URL(path, handle.url).toString(), { ...init, headers: { authorization: `Bearer ${init.admin ? handle.adminToken : handle.token}` } }),
  };
}

describe("inspector: sub-agents and plain Durable Objects", () => {
  it("lists an agent's sub-agents and reads and edits a sub-agent's state with ?sub=", async () => {
    const { api } = await start();
    await t!.get<Book>("Book", "b").page("one", "hello");
    expect((await api("/api/agents/Book/b/children")).json()).toEqual({
      subAgents: [{ class: "Page", name: "one", createdAt: expect.any(Number) }],
      facets: [{ name: "Page:one", class: "Page", live: true, subAgent: { class: "Page", name: "one" } }],
    });
    expect((await api("/api/agents/Book/b/state?sub=Page/one")).json()).toEqual({ state: { text: "hello" } });
    const detail = (await api("/api/agents/Book/b?sub=Page/one")).json();
    expect(detail).toMatchObject({ class: "Page", name: "one", sub: [{ className: "Page", name: "one" }], kind: "agent" });
    const put = await api("/api/agents/Book/b/state?sub=Page/one", { method: "PUT", admin: true, body: { state: { text: "edited" } } });
    expect(put.json()).toEqual({ state: { text: "edited" } });
    expect((await api("/api/audit")).json().items[0]).toMatchObject({ action: "state.set", target: "Book/b/Page/one" });
    expect((await api("/api/agents/Book/b/state?sub=Page")).json().error.message).toBe("sub must be <Class>/<name> pairs, e.g. sub=Child/a");
  });

  it("lists facets from the parent's facet directory, in memory or not", async () => {
    const { api } = await start();
    await t!.get<Book>("Book", "b").page("two", "hi");
    await t!.get<Book>("Book", "b").rest("two");
    expect((await api("/api/agents/Book/b/children")).json().facets).toEqual([{ name: "Page:two", class: "Page", live: false, subAgent: { class: "Page", name: "two" } }]);
    expect((await api("/api/agents/Book/c/children")).status).toBe(404);
  });

  it("lists a plain Durable Object class and refuses agent-only views of its instances", async () => {
    const { api } = await start();
    await t!.fetch("/agents/book/x");
    const classes = (await api("/api/classes")).json();
    expect(classes.find((c: { class: string }) => c.class === "COUNTER")).toMatchObject({ kind: "durable-object", binding: true });
    const ns = t!.env.COUNTER as { getByName(name: string): { fetch(url: string): Promise<Response> } };
    await (await ns.getByName("c1").fetch("http://do/")).text();
    const listed = (await api("/api/agents?class=COUNTER")).json().items;
    expect(listed).toHaveLength(1);
    const name = encodeURIComponent(listed[0].name);
    const detail = (await api(`/api/agents/COUNTER/${name}`)).json();
    expect(detail).toMatchObject({ class: "COUNTER", kind: "durable-object", features: [] });
    const state = await api(`/api/agents/COUNTER/${name}/state`);
    expect(state.status).toBe(400);
    expect(state.json().error).toEqual({ code: "not_an_agent", message: `COUNTER/${listed[0].name} is a plain Durable Object: the inspector shows agents' state, SQL, connections and tasks only` });
  });
});
