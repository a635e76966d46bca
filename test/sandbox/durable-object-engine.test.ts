/**
 * What the sandbox gives Durable Objects loaded from code, below the facets: extensions (named
 * operations with string payloads, bounded, and nested calls back into the running code), the
 * "cloudflare:workers" module, and a memory limit that holds for strings built in a loop.
 */
import { afterEach, describe, expect, it } from "vitest";
import { EngineError, Sandbox, WorkerLoader, quickJSEngine, workerPoolEngine, type SandboxExtension } from "../../src/sandbox/index.ts";

const sandboxes: Sandbox[] = [];
const loaders: WorkerLoader[] = [];
afterEach(() => {
  for (const sandbox of sandboxes.splice(0)) sandbox.dispose();
  for (const loader of loaders.splice(0)) loader.close();
});

/** An extension whose inside echoes, asks the host, and lets the host call back in. */
function echoExtension(seen: string[]): SandboxExtension {
  return {
    name: "echo",
    source: `(function (kit) {
      return {
        async dispatch(op, payload) {
          if (op === "ask") return kit.sync("echo.twice", JSON.stringify(payload));
          if (op === "askAsync") return await kit.async_("echo.later", JSON.stringify(payload));
          if (op === "wrap") { globalThis.wrapped = 0; kit.sync("echo.wrap", "{}"); return globalThis.wrapped; }
          if (op === "huge") return kit.sync("echo.twice", JSON.stringify("x".repeat(payload.n))).length;
          throw new Error("unknown " + op);
        },
        nested(op, payload) { globalThis.wrapped++; return op + ":" + payload; },
      };
    })`,
    sync(op, payload, nested) {
      seen.push(op);
      if (op === "twice") return JSON.stringify([JSON.parse(payload), JSON.parse(payload)]);
      if (op === "wrap") return JSON.stringify([nested("inner", "1"), nested("inner", "2")]);
      throw new Error(`unknown ${op}`);
    },
    async async(op, payload) {
      seen.push(op);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return payload.toUpperCase();
    },
  };
}

async function sandboxWith(extension: SandboxExtension, memoryBytes = 64 * 1024 * 1024): Promise<Sandbox> {
  const sandbox = await Sandbox.create({ extension, memoryBytes, cpuMs: 5_000 });
  sandboxes.push(sandbox);
  return sandbox;
}

describe("sandbox extensions", () => {
  it("dispatch to the extension's code, which reaches the host by named operations", async () => {
    const seen: string[] = [];
    const sandbox = await sandboxWith(echoExtension(seen));
    expect(await sandbox.extensionCall("ask", JSON.stringify({ a: 1 }))).toEqual({ result: JSON.stringify([{ a: 1 }, { a: 1 }]), logs: [] });
    expect(await sandbox.extensionCall("askAsync", JSON.stringify("quiet"))).toEqual({ result: '"QUIET"', logs: [] });
    expect(seen).toEqual(["twice", "later"]);
  });

  it("let the host call back into the running code while it waits (nested)", async () => {
    const sandbox = await sandboxWith(echoExtension([]));
    expect(await sandbox.extensionCall("wrap", "{}")).toEqual({ result: 2, logs: [] });
  });

  it("bound what crosses, by maxHostCallBytes", async () => {
    const sandbox = await sandboxWith(echoExtension([]));
    expect(await sandbox.extensionCall("huge", JSON.stringify({ n: 3_000_000 }))).toEqual({ result: 6_000_007, logs: [] }); // ["x…x","x…x"]
    const big = await sandbox.extensionCall("huge", JSON.stringify({ n: 5_000_000 }));
    expect(big.error).toEqual({ name: "RangeError", message: "host call message of 10000007 bytes exceeds 8388608 bytes (maxHostCallBytes)" }); // the answer
  });

  it("are refused on a sandbox without one, and a nested call outside a run is refused", async () => {
    const plain = await Sandbox.create();
    sandboxes.push(plain);
    await expect(plain.extensionCall("ask", "{}")).rejects.toThrow("this sandbox has no extension");
    for (const engine of [quickJSEngine(), workerPoolEngine()]) {
      const context = await engine.createContext({ memoryBytes: 1024 * 1024, host: { syncCall: () => undefined, asyncCall: async () => "" } });
      try {
        expect(() => context.callNested("f", [])).toThrow(EngineError);
        expect(() => context.callNested("f", [])).toThrow("a nested call can only be made while the sandbox's code runs");
      } finally {
        context.dispose();
      }
    }
  });
});

describe("the cloudflare:workers module", () => {
  it("resolves inside any loaded worker, with the worker's env", async () => {
    const loader = new WorkerLoader();
    loaders.push(loader);
    const worker = loader.get("w", () => ({
      mainModule: "main.js",
      modules: {
        "main.js": `import { DurableObject, WorkerEntrypoint, RpcTarget, env } from "cloudflare:workers";
          export function shapes() { return [typeof DurableObject, typeof WorkerEntrypoint, typeof RpcTarget, env.NAME, new (class extends DurableObject {})("c", "e").env]; }`,
      },
      env: { NAME: "w" },
    }));
    expect(await worker.getEntrypoint().call("shapes")).toEqual(["function", "function", "function", "w", "e"]);
  });
});

describe("the memory limit", () => {
  it("holds for strings built in a loop (no bytecode between the allocations to interrupt)", async () => {
    const sandbox = await Sandbox.create({ memoryBytes: 16 * 1024 * 1024, cpuMs: 10_000 });
    sandboxes.push(sandbox);
    for (const loop of [
      "async () => { const kept = []; for (;;) kept.push('x'.repeat(1024 * 1024) + kept.length); }",
      "async () => { const kept = []; for (;;) kept.push(''.padEnd(1024 * 1024, 'y')); }",
      "async () => { const kept = []; for (;;) kept.push(new Array(1024 * 64).join('z'.repeat(16))); }",
    ]) {
      const fresh = await Sandbox.create({ memoryBytes: 16 * 1024 * 1024, cpuMs: 10_000 });
      sandboxes.push(fresh);
      expect((await fresh.runFunction(loop)).error, loop).toEqual({ name: "SandboxLimitError", message: "memory limit of 16 MiB exceeded (memoryBytes)", limit: "memoryBytes" });
    }
    // Within the limit, the same builtins work as before.
    expect((await sandbox.runFunction("async () => 'ab'.repeat(3) + 'c'.padStart(3, '-') + [1, 2].join('+') + 'x'.concat('y') + 'a-a'.replaceAll('-', '')")).result).toBe(
      "ababab--c1+2xyaa",
    );
  });
});
