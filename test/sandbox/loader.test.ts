import { afterEach, describe, expect, it } from "vitest";
import { WorkerError, WorkerLoader } from "../../src/sandbox/index.ts";

const loaders: WorkerLoader[] = [];
function loader(max?: number): WorkerLoader {
  const l = new WorkerLoader(max ? { maxWarmWorkers: max } : {});
  loaders.push(l);
  return l;
}
afterEach(() => {
  for (const l of loaders.splice(0)) l.close();
});

const COUNTER = {
  mainModule: "main.js",
  modules: {
    "main.js": "import { label } from './label.js'; let n = 0; export function bump(by = 1) { n += by; return label(n) } export default { async fetch(request, env) { return Response.json({ path: new URL(request.url).pathname, greeting: env.GREETING, n }) }, twice(x) { return x * 2 } }",
    "label.js": "export const label = (n) => 'n=' + n;",
  },
  env: { GREETING: "hi" },
};

describe("WorkerLoader", () => {
  it("runs the factory once per id and keeps the worker warm", async () => {
    const l = loader();
    let factoryRuns = 0;
    const factory = () => (factoryRuns++, COUNTER);
    const a = l.get("tenant-a", factory).getEntrypoint();
    expect(await a.call("bump")).toBe("n=1");
    expect(await (a as unknown as { bump(by: number): Promise<string> }).bump(5)).toBe("n=6");
    expect(await l.get("tenant-a", factory).getEntrypoint().call("bump")).toBe("n=7");
    expect(factoryRuns).toBe(1);
    expect(await l.get("tenant-b", factory).getEntrypoint().call("bump")).toBe("n=1");
    expect(factoryRuns).toBe(2);
  });

  it("serves fetch through export default { fetch } and calls default-export methods", async () => {
    const e = loader().get("w", async () => COUNTER).getEntrypoint();
    const response = await e.fetch(new Request("http://w.local/some/path"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ path: "/some/path", greeting: "hi", n: 0 });
    expect(await e.call("twice", 21)).toBe(42);
  });

  it("rethrows sandbox errors and limits as WorkerError, and restarts a worker stopped by a limit", async () => {
    const l = loader();
    let runs = 0;
    const factory = () => {
      runs++;
      return { mainModule: "m.js", modules: { "m.js": "export function spin() { for (;;) {} } export function fail() { throw new RangeError('bad') } export const ok = () => 'ok'" }, limits: { cpuMs: 20 } };
    };
    const e = l.get("x", factory).getEntrypoint();
    await expect(e.call("fail")).rejects.toMatchObject({ name: "RangeError", message: "bad" });
    const error = await e.call("spin").catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WorkerError);
    expect(error).toMatchObject({ limit: "cpuMs", message: "CPU budget of 20 ms exceeded (cpuMs)" });
    expect(await e.call("ok")).toBe("ok");
    expect(runs).toBe(2);
  });

  it("evicts the least recently used worker above maxWarmWorkers", async () => {
    const l = loader(2);
    const runs: string[] = [];
    const get = (id: string) => l.get(id, () => (runs.push(id), COUNTER)).getEntrypoint();
    await get("a").call("bump");
    await get("b").call("bump");
    await get("a").call("bump");
    await get("c").call("bump");
    expect(l.size).toBe(2);
    expect(await get("a").call("bump")).toBe("n=3");
    expect(await get("b").call("bump")).toBe("n=1");
    expect(runs).toEqual(["a", "b", "c", "b"]);
  });

  it("reports a factory or load failure to the caller and retries on the next use", async () => {
    const l = loader();
    let attempt = 0;
    const e = l.get("flaky", () => {
      attempt++;
      if (attempt === 1) throw new Error("factory failed");
      if (attempt === 2) return { mainModule: "m.js", modules: { "m.js": "syntax error here" } };
      return { mainModule: "m.js", modules: { "m.js": "export const v = () => 'loaded'" } };
    }).getEntrypoint();
    await expect(e.call("v")).rejects.toThrow("factory failed");
    await expect(e.call("v")).rejects.toThrow(/SyntaxError/);
    expect(await e.call("v")).toBe("loaded");
  });

  it("gives each worker its own globalOutbound", async () => {
    const l = loader();
    const e = l.get("net", () => ({
      mainModule: "m.js",
      modules: { "m.js": "export async function get(url) { const r = await fetch(url); return r.status + ':' + await r.text() }" },
      globalOutbound: (request: Request) => new Response(`proxied ${new URL(request.url).hostname}`, { status: 203 }),
    })).getEntrypoint();
    expect(await e.call("get", "https://example.org/x")).toBe("203:proxied example.org");
    const closed = l.get("closed", () => ({ mainModule: "m.js", modules: { "m.js": "export async function get(url) { return (await fetch(url)).status }" } })).getEntrypoint();
    await expect(closed.call("get", "https://example.org/")).rejects.toThrow(/globalOutbound is null/);
  });
});
