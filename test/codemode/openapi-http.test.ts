// The OpenAPI capability against a real loopback server, code running in a real sandbox: the host
// adds credentials the code never sees, stays under the API's base URL, bounds what it reads.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ToolExecutionOptions } from "ai";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createCodeTools, openApiSource, sandboxExecutor, type CodeToolOutput, type OpenApiSourceOptions } from "../../src/codemode/index.ts";
import { startShopServer, type ShopServer } from "./fixtures/shop-server.ts";

const spec = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "shop.openapi.json"), "utf8")) as object;
const execution: ToolExecutionOptions<unknown> = { toolCallId: "call-1", messages: [], context: {} };
const TOKEN = "s3cret-token";
const KEY = "k3y-in-query";

let shop: ShopServer;
beforeEach(async () => {
  shop = await startShopServer({ exportBytes: 200_000 });
});
afterEach(async () => {
  await shop.close();
});

async function run(code: string, options: OpenApiSourceOptions = {}): Promise<CodeToolOutput> {
  const source = openApiSource(spec, { baseUrl: shop.baseUrl, headers: { authorization: `Bearer ${TOKEN}` }, query: { api_key: KEY }, maxResponseBytes: 100_000, ...options });
  // A CPU budget well above what these programs need (building a 1 MiB body takes tens of ms): the
  // tests are about requests, and a loaded machine must not turn one into a CPU-limit error.
  const { tools } = createCodeTools({ sources: [source], mode: "declarations", executor: sandboxExecutor({ cpuMs: 2_000 }) });
  return (await tools.execute.execute!({ code }, execution)) as CodeToolOutput;
}

it("calls several operations from one run: path, query, header and body parameters reach the server", async () => {
  const out = await run(`async () => {
    const active = await codemode.listItems({ status: "active", limit: 5, tag: ["a", "b"] });
    const one = await codemode.get_items_itemId({ itemId: "it_2", "X-Request-Id": "req-7" });
    const made = await codemode.createItem({ body: { name: "Pot", price: { amount: 3, currency: "EUR" } } });
    const tree = await codemode.getCategoryTree({ id: "c1" });
    return { names: active.map((i) => i.name), one: one.name, made: made.id, tree: tree.children.length };
  }`);
  expect(out).toEqual({ result: { names: ["Teapot", "Kettle"], one: "Kettle", made: "it_9", tree: 1 }, logs: [] });
  expect(shop.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
    `GET /v1/items?limit=5&status=active&tag=a&tag=b&api_key=${KEY}`,
    `GET /v1/items/it_2?api_key=${KEY}`,
    `POST /v1/items?api_key=${KEY}`,
    `GET /v1/categories/c1/tree?api_key=${KEY}`,
  ]);
  expect(shop.requests[1]?.headers["x-request-id"]).toBe("req-7");
  expect(shop.requests[2]?.headers["content-type"]).toBe("application/json");
  expect(JSON.parse(shop.requests[2]?.body ?? "")).toEqual({ name: "Pot", price: { amount: 3, currency: "EUR" } });
  expect(shop.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
});

it("adds credentials on the host: code in the sandbox cannot read them", async () => {
  const out = await run(`async () => {
    const seen = [];
    const visit = (value, depth) => {
      if (depth > 4 || value === null || value === undefined) return;
      if (typeof value === "function") { seen.push(String(value)); return; }
      if (typeof value !== "object") { seen.push(String(value)); return; }
      for (const key of Object.getOwnPropertyNames(value)) { seen.push(key); try { visit(value[key], depth + 1); } catch {} }
    };
    visit(globalThis, 0);
    visit(codemode, 0);
    let error = "";
    try { await codemode.get_items_itemId({ itemId: "it_404" }); } catch (e) { error = e.message; }
    const me = await codemode.whoAmI();
    const text = seen.join(" ") + JSON.stringify(Object.keys(globalThis)) + error;
    return { me: me.user, error, size: text.length, leaks: ["${TOKEN}", "${KEY}", "s3cret", "k3y"].filter((s) => text.includes(s)) };
  }`);
  const result = out.result as { me: string; error: string; size: number; leaks: string[] };
  expect(result.me).toBe("ada"); // the server saw the token
  expect(result.error).toBe('codemode.get_items_itemId failed: GET /items/{itemId} answered 404 Not Found: {"error":"no such item","id":"it_404"}');
  expect(result.size).toBeGreaterThan(1_000); // it did see the globals and the capabilities
  expect(result.leaks).toEqual([]);
  expect(JSON.stringify(out)).not.toContain(TOKEN);
});

it("refuses a URL outside the API's base URL, before sending anything", async () => {
  const out = await run(`async () => codemode.getPage({ page: ".." })`);
  expect(out.error?.message).toBe(
    'codemode.getPage failed: GET /{page}: path parameter "page" cannot be "..": URLs resolve "." and ".." segments, so the request would reach another endpoint',
  );
  const encoded = await run(`async () => codemode.getPage({ page: "../../admin?x=" })`);
  expect(encoded.error?.message).toContain("answered 404 Not Found"); // one path segment, percent-encoded: stays under /v1
  expect(shop.requests.map((r) => r.url)).toEqual([`/v1/..%2F..%2Fadmin%3Fx%3D?api_key=${KEY}`]);
});

it('refuses path parameters that URLs resolve as a step ("." or ".."): the request would reach another endpoint, credentials and all', async () => {
  const pathParam = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });
  const labels = {
    openapi: "3.1.0",
    servers: [{ url: "https://api.example.com/v1" }],
    paths: {
      "/repos/{owner}/{repo}/issues/{n}/labels/{name}": { delete: { operationId: "removeLabel", parameters: [pathParam("owner"), pathParam("repo"), pathParam("n"), pathParam("name")] } },
      "/files/{stem}.{ext}": { get: { operationId: "getFile", parameters: [pathParam("stem"), pathParam("ext")] } },
    },
  };
  const sent: string[] = [];
  const source = openApiSource(labels, {
    headers: { authorization: `Bearer ${TOKEN}` },
    fetch: async (url, init) => {
      sent.push(`${init?.method} ${String(url)}`);
      return new Response(null, { status: 204 });
    },
  });
  const call = async (name: string, input: Record<string, unknown>) => {
    try {
      return await source.call(name, input, { toolCallId: "c", messages: [] } as never);
    } catch (error) {
      return (error as Error).message;
    }
  };
  const stepUp = 'URLs resolve "." and ".." segments, so the request would reach another endpoint';
  const route = "DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}";
  expect(await call("removeLabel", { owner: "o", repo: "r", n: "1", name: ".." })).toBe(`${route}: path parameter "name" cannot be "..": ${stepUp}`);
  expect(await call("removeLabel", { owner: ".", repo: "r", n: "1", name: "bug" })).toBe(`${route}: path parameter "owner" cannot be ".": ${stepUp}`);
  expect(await call("getFile", { stem: "", ext: "" })).toBe(`GET /files/{stem}.{ext}: path parameters "stem" and "ext" cannot make the segment ".": ${stepUp}`);
  expect(sent).toEqual([]);
  // Dots inside a value, or an encoded dot (its % is encoded in turn), stay one segment of the value.
  await call("removeLabel", { owner: "o", repo: "r", n: "1", name: "..." });
  await call("removeLabel", { owner: "o", repo: "r", n: "1", name: "%2e%2e" });
  await call("getFile", { stem: "notes", ext: "md" });
  expect(sent).toEqual([
    "DELETE https://api.example.com/v1/repos/o/r/issues/1/labels/...",
    "DELETE https://api.example.com/v1/repos/o/r/issues/1/labels/%252e%252e",
    "GET https://api.example.com/v1/files/notes.md",
  ]);
});

it("does not follow redirects, so credentials never travel to another host", async () => {
  const out = await run(`async () => codemode.getMoved()`);
  expect(out.error?.message).toBe("codemode.getMoved failed: GET /moved answered 302 (a redirect, not followed: credentials stay with the API's servers)");
  expect(shop.requests).toHaveLength(1);
});

it("bounds the response body (maxResponseBytes) and quotes at most 500 characters of a failed one", async () => {
  const big = await run(`async () => codemode.exportItems()`);
  expect(big.error?.message).toBe("codemode.exportItems failed: GET /export: the response is 200011 bytes, more than maxResponseBytes (100000)");
  const streamed = await run(`async () => codemode.streamItems()`);
  expect(streamed.error?.message).toBe("codemode.streamItems failed: GET /stream: the response is larger than maxResponseBytes (100000)");
  const fits = await run(`async () => (await codemode.exportItems()).data.length`, { maxResponseBytes: 300_000 });
  expect(fits.result).toBe(200_000);
  const noAuth = await run(`async () => codemode.whoAmI()`, { headers: {} });
  expect(noAuth.error?.message).toBe('codemode.whoAmI failed: GET /whoami answered 401 Unauthorized: {"error":"bad credentials"}');
  const long = await run(`async () => codemode.getPage({ page: "p".repeat(600) })`);
  const quoted = `{"error":"no route GET /v1/${"p".repeat(600)}"}`;
  expect(long.error?.message).toBe(`codemode.getPage failed: GET /{page} answered 404 Not Found: ${quoted.slice(0, 500)}… [${quoted.length} characters]`);
});

it("validates the input against the schema before sending a request", async () => {
  const out = await run(`async () => codemode.createItem({ body: { name: "Pot", price: { amount: "3", currency: "EUR" } } })`);
  expect(out.error?.message).toBe("codemode.createItem: invalid input: input.body.price.amount: expected number, got string");
  const missing = await run(`async () => codemode.get_items_itemId({ itemId: "nope" })`);
  expect(missing.error?.message).toBe("codemode.get_items_itemId: invalid input: input.itemId: does not match the pattern ^it_[0-9]+$");
  expect(shop.requests).toEqual([]);
});

it("uses the document's servers when no baseUrl is given, and rejects a bad baseUrl", async () => {
  const source = openApiSource(spec, { fetch: async (url) => new Response(JSON.stringify({ user: String(url) }), { headers: { "content-type": "application/json" } }) });
  const { tools } = createCodeTools({ sources: [source] });
  const out = (await tools.execute.execute!({ code: "async () => codemode.whoAmI()" }, execution)) as CodeToolOutput;
  expect(out.result).toEqual({ user: "https://eu.shop.example.com/v1/whoami" });
  expect(() => openApiSource(spec, { baseUrl: "/v1" })).toThrow('codemode: baseUrl must be an absolute http or https URL, got "/v1"');
  expect(() => openApiSource(spec, { timeoutMs: 0 })).toThrow("codemode: openApiSource timeoutMs must be a positive number, got 0");
});

it("bounds the request body (MAX_REQUEST_BODY_BYTES) and the time of a request (timeoutMs)", async () => {
  const big = await run(`async () => codemode.createItem({ body: { name: "Pot", price: { amount: 3, currency: "EUR" }, note: "n".repeat(1_048_576) } })`);
  expect(big.error?.message).toMatch(/^codemode\.createItem failed: POST \/items: the request body is \d+ bytes, more than MAX_REQUEST_BODY_BYTES \(1048576\)$/);
  const slow = await run(`async () => codemode.slowReport()`, { timeoutMs: 300 });
  expect(slow.error?.message).toBe("codemode.slowReport failed: GET /slow: no answer within 300 ms (timeoutMs)");
  expect(shop.requests.map((r) => r.url.split("?")[0])).toEqual(["/v1/slow"]);
});

it("maps a body that stops coming as the headers' wait is mapped: the time bound (timeoutMs), or a dropped connection", async () => {
  // Headers and the start of a JSON body at once, then nothing more (or the connection dropped).
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write("[1,");
    if (req.url === "/v1/dropped") setTimeout(() => res.destroy(), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const stalled = {
      openapi: "3.1.0",
      servers: [{ url: `http://127.0.0.1:${port}/v1` }],
      paths: { "/items": { get: { operationId: "listItems" } }, "/dropped": { get: { operationId: "dropped" } } },
    };
    const { tools } = createCodeTools({ sources: [openApiSource(stalled, { timeoutMs: 300 })], mode: "declarations" });
    const out = (await tools.execute.execute!({ code: "async () => codemode.listItems()" }, execution)) as CodeToolOutput;
    expect(out.error?.message).toBe("codemode.listItems failed: GET /items: no answer within 300 ms (timeoutMs)");
    const dropped = (await tools.execute.execute!({ code: "async () => codemode.dropped()" }, execution)) as CodeToolOutput;
    expect(dropped.error?.message).toMatch(/^codemode\.dropped failed: GET \/dropped: the request failed: \w/);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

it("needs an absolute server URL: a document with only relative servers and no baseUrl cannot call", async () => {
  const relative = { ...(spec as Record<string, unknown>), servers: [{ url: "/v1" }] };
  const { tools } = createCodeTools({ sources: [openApiSource(relative)] });
  const out = (await tools.execute.execute!({ code: "async () => codemode.whoAmI()" }, execution)) as CodeToolOutput;
  expect(out.error?.message).toBe("codemode.whoAmI failed: the API has no absolute server URL; pass baseUrl to openApiSource");
});
