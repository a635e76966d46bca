/**
 * The URL each parent's `onBeforeSubAgent` sees on the way down a nested URL, as the Agents SDK
 * forwards it (sub-routing.ts's `remainingPath`): the first parent the request as routed to it, each
 * middle parent the path left below it (`/sub/{class}/{name}/…`), the leaf the path after its own
 * address; the query every time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, routeAgentRequest, routeSubAgentRequest, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

/** `${class}/${name} → ${child}: ${path and query}` for every hook that ran, in order. */
const seen: string[] = [];

class Folder extends Agent {
  override onBeforeSubAgent(request: Request, child: { className: string; name: string }): Request | void {
    const url = new URL(request.url);
    seen.push(`${this.name} → ${child.name}: ${url.pathname}${url.search}`);
    // A header for the next level: a mutated request goes on, its path rewritten to what is left.
    if (child.name === "b") return new Request(request, { headers: { ...Object.fromEntries(request.headers), "x-from": this.name } });
  }

  override onRequest(request: Request): Response {
    const url = new URL(request.url);
    return Response.json({ at: this.name, path: `${url.pathname}${url.search}`, from: request.headers.get("x-from") });
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  seen.length = 0;
});

describe("onBeforeSubAgent in a nested URL", () => {
  it("sees the whole URL at the root, what is left below it in a middle parent", async () => {
    harness = await startHarness({ Folder });
    const response = await fetch(`${harness.url}/agents/folder/root/sub/folder/a/sub/folder/b/sub/folder/c/notes?q=1`);
    expect(await response.json()).toEqual({ at: "c", path: "/notes?q=1", from: "a" });
    expect(seen).toEqual([
      "root → a: /agents/folder/root/sub/folder/a/sub/folder/b/sub/folder/c/notes?q=1",
      "a → b: /sub/folder/b/sub/folder/c/notes?q=1",
      "b → c: /sub/folder/c/notes?q=1",
    ]);
  });

  it("sees the path routed to it under routeSubAgentRequest's fromPath", async () => {
    harness = await startHarness(
      { Folder },
      {
        fetch: async (request, env) => {
          const match = /^\/drive\/([^/]+)(\/.*)$/.exec(new URL(request.url).pathname);
          if (!match) return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
          const parent = await getAgentByName(env.Folder as AgentNamespace<Folder>, match[1]!);
          return routeSubAgentRequest(request, parent, { fromPath: match[2] });
        },
      },
    );
    const response = await fetch(`${harness.url}/drive/root/sub/folder/a/sub/folder/b/notes?q=2`);
    expect(await response.json()).toEqual({ at: "b", path: "/notes?q=2", from: "a" });
    expect(seen).toEqual(["root → a: /sub/folder/a/sub/folder/b/notes?q=2", "a → b: /sub/folder/b/notes?q=2"]);
  });
});
