/**
 * The QuickJS WebAssembly module: compiled once from the file in the npm package, instantiated per
 * shard, warmed up once, the shadow-stack operations that let a shard survive a native stack
 * overflow (see quickjs-engine.ts), and a watch told before the instance's memory grows and when
 * it could not.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from "quickjs-emscripten-core";
import releaseSyncImport from "@jitl/quickjs-wasmfile-release-sync";

/** Saves and restores the module's shadow stack pointer. */
export interface StackOps {
  save(): number;
  restore(sp: number): void;
}

// The package's types describe its CommonJS build; under ESM the default export is the variant itself.
const imported = releaseSyncImport as unknown as QuickJSSyncVariant & { default?: QuickJSSyncVariant };
const releaseSync: QuickJSSyncVariant = imported.default ?? imported;

let compiled: WebAssembly.Module | undefined;
function compiledModule(): WebAssembly.Module {
  if (!compiled) {
    const require = createRequire(import.meta.url);
    compiled = new WebAssembly.Module(readFileSync(require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm")));
  }
  return compiled;
}

/**
 * The shadow-stack save/restore exports of the pinned build (0.32.0; minified names). Checked by
 * shape; when they do not match, a native stack overflow stops the whole shard instead.
 */
function stackOps(exports: WebAssembly.Exports): StackOps | undefined {
  const save = exports["Oa"];
  const restore = exports["Ma"];
  if (typeof save !== "function" || typeof restore !== "function" || save.length !== 0 || restore.length !== 1) return undefined;
  const sp = (save as () => unknown)();
  if (typeof sp !== "number") return undefined;
  return { save: save as () => number, restore: restore as (sp: number) => void };
}

/** What is told of the instance's memory growth. */
export interface GrowthWatch {
  /** Before the memory grows, with the bytes an allocation needs beyond its current size. */
  grows(bytes: number): void;
  /** The memory could not grow (its cap): the allocation that asked fails. */
  refused(): void;
}

const UNWATCHED: GrowthWatch = { grows: () => undefined, refused: () => undefined };

/** A fresh instance of the QuickJS module (`newQuickJSInstance`). */
export interface QuickJSInstance {
  module: QuickJSWASMModule;
  stack: StackOps | undefined;
  /** The instance's memory: its growth while a sandbox runs is that sandbox's allocation. */
  memory: WebAssembly.Memory | undefined;
}

/**
 * A fresh instance of the compiled module, warmed up, with its shadow-stack operations if found and
 * its memory (imported by the module: found among the imports, whatever its minified name), whose
 * growth `watch` is told of where the build has the expected shape (else growth is only seen after).
 */
export async function newQuickJSInstance(watch: GrowthWatch = UNWATCHED): Promise<QuickJSInstance> {
  const wasm = compiledModule();
  let exports: WebAssembly.Exports | undefined;
  let memory: WebAssembly.Memory | undefined;
  const variant = newVariant(releaseSync, {
    emscriptenModule: {
      instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
        watchGrowth(imports, () => memory?.buffer.byteLength ?? 0, watch);
        const instance = new WebAssembly.Instance(wasm, imports);
        exports = instance.exports;
        memory = findMemory(imports, exports);
        done(instance, wasm);
        return {};
      },
    } as never,
  });
  const module = await newQuickJSWASMModuleFromVariant(variant);
  if (!warmedUp) warmUp(module);
  return { module, stack: exports ? stackOps(exports) : undefined, memory };
}

/**
 * Puts `watch` in front of the import through which the allocator grows the memory (Emscripten's
 * heap resize: the one import that calls `grow`; checked by shape, as the stack operations are).
 * A builtin that allocates in a loop of its own runs no check of the engine's: only here can the
 * engine learn of its growth before the instance reaches its 2 GiB cap. The growth itself goes on:
 * the host's own allocations in the instance (a string handed in) do not expect to fail. A growth
 * the memory's cap refuses fails the allocation that asked, and the watch is told.
 */
function watchGrowth(imports: WebAssembly.Imports, size: () => number, watch: GrowthWatch): void {
  const found: Array<{ namespace: WebAssembly.ModuleImports; name: string; resize: (requested: number) => unknown }> = [];
  for (const namespace of Object.values(imports)) {
    for (const [name, value] of Object.entries(namespace)) {
      if (typeof value === "function" && value.length === 1 && Function.prototype.toString.call(value).includes(".grow(")) {
        found.push({ namespace, name, resize: value as (requested: number) => unknown });
      }
    }
  }
  if (found.length !== 1) return;
  const { namespace, name, resize } = found[0]!;
  // The argument is the total size wanted, as an unsigned 32-bit number; the answer, whether it grew.
  namespace[name] = (requested: number) => {
    watch.grows(Math.max(0, (requested >>> 0) - size()));
    const grown = resize(requested);
    if (!grown) watch.refused();
    return grown;
  };
}

function findMemory(imports: WebAssembly.Imports, exports: WebAssembly.Exports): WebAssembly.Memory | undefined {
  for (const value of Object.values(exports)) if (value instanceof WebAssembly.Memory) return value;
  for (const namespace of Object.values(imports)) {
    for (const value of Object.values(namespace)) if (value instanceof WebAssembly.Memory) return value;
  }
  return undefined;
}

/**
 * WebAssembly functions are compiled lazily, on first call; the compiled code is shared by every
 * instance of the module. Running typical code once keeps that one-off cost (tens of ms) out of the
 * first sandbox's CPU budget.
 */
let warmedUp = false;
const WARM_UP = `
class A { #x = 1; get x() { return this.#x; } static of(v) { return new A(); } }
const o = JSON.parse(JSON.stringify({ a: [1, 2.5, "s", null, true], b: { c: "d" } }));
const m = new Map([[1, 2]]); const st = new Set([1]); const re = /([a-z]+)-(\\d+)/g;
let s = "abc-123 def-456".replace(re, (all, w, d) => w.toUpperCase() + d).split(" ").map((x) => x.padStart(4)).join(",");
const ta = new Uint8Array(16).map((v, i) => i * 2); const dv = new DataView(ta.buffer);
async function f(n) { await null; return n > 0 ? f(n - 1) : [...m.keys(), ...st, ta.length, dv.getUint8(1), s, o, new A().x]; }
f(10).then((v) => JSON.stringify(v)); String(Symbol("x")); [3, 1, 2].sort((a, b) => a - b); Object.entries({ k: 1 });
try { null.x } catch (e) { String(e) } new Date(0).toISOString(); Math.max(...[1, 2]); encodeURIComponent("a b");
`;
function warmUp(module: QuickJSWASMModule): void {
  warmedUp = true;
  const rt = module.newRuntime();
  const ctx = rt.newContext();
  try {
    const result = ctx.evalCode(WARM_UP, "warm-up.js");
    (result.error ?? result.value).dispose();
    rt.executePendingJobs();
  } finally {
    ctx.dispose();
    rt.dispose();
  }
}

export function isNativeStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
