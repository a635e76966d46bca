import { afterEach, describe, expect, it, vi } from "vitest";
import { Sandbox, SandboxError } from "../../src/sandbox/index.ts";

const open: Sandbox[] = [];
async function sandbox(options?: Parameters<typeof Sandbox.create>[0]): Promise<Sandbox> {
  const s = await Sandbox.create(options);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});

describe("Sandbox: happy paths", () => {
  it("runs a code-mode snippet and captures console output", async () => {
    const s = await sandbox();
    const r = await s.runFunction<number>("async () => { console.log('a', { b: 1 }, [2]); console.warn('w'); return 6 * 7 }");
    expect(r).toEqual({ result: 42, logs: [{ level: "log", message: 'a {"b":1} [2]' }, { level: "warn", message: "w" }] });
  });

  it("loads ES modules with relative imports, JSON modules and top-level await", async () => {
    const s = await sandbox();
    await s.load(
      {
        "src/main.js": "import { twice } from './lib/math.js'; import cfg from './cfg.json'; const base = await Promise.resolve(cfg.base); export async function calc(x) { await null; return twice(x) + base; } export default { hello: (n) => 'hi ' + n };",
        "src/lib/math.js": "export const twice = (x) => x * 2;",
        "src/cfg.json": '{ "base": 100 }',
      },
      "src/main.js",
    );
    expect(await s.call("calc", [4])).toEqual({ result: 108, logs: [] });
    expect(await s.call("hello", ["ann"])).toEqual({ result: "hi ann", logs: [] });
    expect((await s.call("missing", [])).error).toMatchObject({ name: "TypeError", message: expect.stringContaining('no function named "missing"') });
  });

  it("reports errors thrown by sandboxed code with their name and message", async () => {
    const s = await sandbox();
    const r = await s.runFunction("async () => { class MyError extends Error { name = 'MyError' } throw new MyError('boom') }");
    expect(r.error).toEqual({ name: "MyError", message: "boom" });
    expect((await s.runFunction("async () => 'still usable'")).result).toBe("still usable");
  });

  it("refuses code that is not a function and modules that do not load", async () => {
    const s = await sandbox();
    expect((await s.runFunction("42")).error?.message).toContain("must be a function");
    expect((await s.runFunction("async () => {")).error?.name).toBe("SyntaxError");
    const t = await sandbox();
    await expect(t.load({ "m.js": "export const = 1" }, "m.js")).rejects.toThrow(SandboxError);
    const u = await sandbox();
    await expect(u.load({ "m.js": "throw new Error('top-level')" }, "m.js")).rejects.toThrow(/top-level/);
  });

  it("calls env capabilities asynchronously with JSON data, and copies plain data in", async () => {
    const calls: unknown[] = [];
    class Store {
      #items = new Map<string, unknown>([["a", 1]]);
      get(key: string) {
        calls.push(["get", key]);
        return this.#items.get(key) ?? null;
      }
      async put(key: string, value: unknown) {
        this.#items.set(key, value);
        return { ok: true };
      }
    }
    const s = await sandbox({
      env: {
        GREETING: "hello",
        limits: { max: 3, tags: ["x"] },
        add: (a: number, b: number) => a + b,
        fail: () => {
          throw new Error("no such thing");
        },
        store: new Store(),
      },
    });
    const r = await s.runFunction(`async () => {
      const sum = await add(2, 3);
      const put = await env.store.put("b", { deep: [1, 2] });
      const got = await store.get("b");
      let failed;
      try { await fail() } catch (e) { failed = e.message }
      return { sum, put, got, failed, greeting: GREETING, max: env.limits.max, addIsAsync: add(1, 1) instanceof Promise };
    }`);
    expect(r.result).toEqual({ sum: 5, put: { ok: true }, got: { deep: [1, 2] }, failed: "no such thing", greeting: "hello", max: 3, addIsAsync: true });
    expect(calls).toEqual([["get", "b"]]);
  });

  it("has web-shaped URL, URLSearchParams, TextEncoder/Decoder, Headers, Request, Response, atob/btoa", async () => {
    const s = await sandbox();
    const r = await s.runFunction(`async () => {
      const u = new URL("../x?a=1&b=two%20words#h", "https://user@example.com:8443/p/q");
      u.searchParams.append("c", "3");
      const h = new Headers({ "X-One": "1" }); h.append("x-one", "2");
      const req = new Request("https://api.test/items", { method: "post", headers: { "content-type": "application/json" }, body: JSON.stringify({ n: 1 }) });
      const res = Response.json({ ok: 1 }, { status: 201, headers: { "x-r": "y" } });
      const bytes = new TextEncoder().encode("€😀");
      return {
        href: u.href, host: u.host, port: u.port, path: u.pathname, b: u.searchParams.get("b"), hash: u.hash, origin: u.origin,
        canParse: [URL.canParse("nope"), URL.canParse("http://a")],
        header: h.get("X-ONE"), method: req.method, reqBody: await req.json(), status: res.status, ok: res.ok,
        ctype: res.headers.get("content-type"), resBody: await res.text(), bytes: Array.from(bytes),
        text: new TextDecoder().decode(bytes), b64: btoa("hi!"), unb64: atob("aGkh"),
        qs: new URLSearchParams({ a: "1 2", b: "é" }).toString(),
      };
    }`);
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual({
      href: "https://user@example.com:8443/x?a=1&b=two+words&c=3#h",
      host: "example.com:8443",
      port: "8443",
      path: "/x",
      b: "two words",
      hash: "#h",
      origin: "https://example.com:8443",
      canParse: [false, true],
      header: "1, 2",
      method: "POST",
      reqBody: { n: 1 },
      status: 201,
      ok: true,
      ctype: "application/json",
      resBody: '{"ok":1}',
      bytes: [226, 130, 172, 240, 159, 152, 128],
      text: "€😀",
      b64: "aGkh",
      unb64: "hi!",
      qs: "a=1+2&b=%C3%A9",
    });
  });

  it("fetch goes through globalOutbound, which sees a real Request and answers with a Response", async () => {
    const seen: Array<{ method: string; url: string; header: string | null; body: string }> = [];
    const s = await sandbox({
      globalOutbound: async (request) => {
        seen.push({ method: request.method, url: request.url, header: request.headers.get("x-key"), body: await request.text() });
        return new Response(new Uint8Array([0, 1, 255]), { status: 202, statusText: "Accepted", headers: { "x-answer": "42" } });
      },
    });
    const r = await s.runFunction(`async () => {
      const res = await fetch("https://api.example.com/v1?q=1", { method: "PUT", headers: { "X-Key": "k" }, body: "payload" });
      return { status: res.status, statusText: res.statusText, answer: res.headers.get("x-answer"), bytes: Array.from(await res.bytes()), url: res.url };
    }`);
    expect(r.result).toEqual({ status: 202, statusText: "Accepted", answer: "42", bytes: [0, 1, 255], url: "https://api.example.com/v1?q=1" });
    expect(seen).toEqual([{ method: "PUT", url: "https://api.example.com/v1?q=1", header: "k", body: "payload" }]);
  });

  it("serves fetch through export default { fetch(request, env) }", async () => {
    const s = await sandbox({ env: { NAME: "w" } });
    await s.load({ "w.js": "export default { async fetch(request, env) { const body = await request.text(); return new Response(env.NAME + ':' + request.method + ':' + new URL(request.url).pathname + ':' + body, { status: 201, headers: { 'x-w': '1' } }) } }" }, "w.js");
    const response = await s.fetch(new Request("http://worker/path", { method: "POST", body: "hi" }));
    expect(response.status).toBe(201);
    expect(response.headers.get("x-w")).toBe("1");
    expect(await response.text()).toBe("w:POST:/path:hi");
  });

  it("reports memory usage and refuses bad options", async () => {
    const s = await sandbox();
    // On the worker pool the heap is measured off the call's path, a few ms after the call.
    await vi.waitFor(() => expect(s.memoryUsage).toBeGreaterThan(10_000));
    expect(s.memoryUsage).toBeLessThan(1024 * 1024);
    await expect(Sandbox.create({ cpuMs: -1 })).rejects.toThrow(/cpuMs/);
    await expect(Sandbox.create({ memoryBytes: Number.NaN })).rejects.toThrow(/memoryBytes/);
    // More than a WebAssembly instance could ever hold for it: refused, not wrapped around to a tiny limit.
    await expect(Sandbox.create({ memoryBytes: 4 * 1024 ** 3 })).rejects.toThrow("memoryBytes must be at most 1073741824, got 4294967296");
    const largest = await sandbox({ memoryBytes: 1024 ** 3 });
    expect(await largest.runFunction("async () => 'x'.repeat(1 << 20).length")).toEqual({ result: 1 << 20, logs: [] });
    s.dispose();
    expect(s.memoryUsage).toBe(0);
    expect((await s.runFunction("async () => 1")).error?.message).toMatch(/disposed/);
  });

  it("runs calls on one sandbox one at a time", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const s = await sandbox({ env: { wait: () => gate } });
    const first = s.runFunction("async () => { globalThis.order = ['first-start']; await wait(); order.push('first-end'); return order }");
    const second = s.runFunction("async () => { order.push('second'); return order }");
    release();
    expect((await first).result).toEqual(["first-start", "first-end"]);
    expect((await second).result).toEqual(["first-start", "first-end", "second"]);
  });
});
