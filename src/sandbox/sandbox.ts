/**
 * Sandbox: an isolated JavaScript context for code Hearth did not ship (model-written snippets,
 * per-tenant apps). ES modules, async/await, web-shaped console/fetch/URL/Request/Response; no
 * process, require, file system, timers or network unless granted. Host capabilities reach it only
 * through `env`. Limits: memory, CPU per call, wall clock per call, output per call.
 *
 * After a CPU, wall-clock or memory limit (or an engine crash) the sandbox is disposed: every later
 * call returns the same error. Other sandboxes and the host are unaffected. An output limit only
 * fails that call (logs are truncated with a marker; a result too large is an error).
 * Calls on one sandbox run one at a time, in order.
 */
import { LIMITS } from "../limits.ts";
import { EngineError, type Budget, type EngineContext, type EngineHost, type SandboxEngine } from "./engine.ts";
import type { SandboxExtension } from "./extension.ts";
import { BUFFER_PRELUDE } from "./buffer-prelude.ts";
import { CLOUDFLARE_WORKERS_MODULE, PRELUDE, WEB_PRELUDE } from "./prelude.ts";
import { describeEnv, type Capability } from "./env-shape.ts";
import { workerPoolEngine } from "./pool/pool.ts";
import { bytesOf, checkHostCallSize, fromWireResponse, hostCallTooBig, nestsDeeper, parseFromSandbox, toWireRequest, tooDeep, type WireMessage } from "./wire.ts";

export { fromWireResponse, toWireRequest, type WireMessage } from "./wire.ts";

export interface SandboxLimits {
  /** Heap of the sandbox. Default 32 MiB. */
  memoryBytes?: number;
  /** CPU time the sandboxed code may use per call (load, call, runFunction). Default 50 ms. */
  cpuMs?: number;
  /** Wall-clock time per call, including awaited host calls. Default 5,000 ms. */
  wallMs?: number;
  /** Console output plus JSON result per call. Default 1 MiB. */
  maxOutputBytes?: number;
}

export type OutboundHandler = (request: Request) => Response | Promise<Response>;

export interface SandboxOptions extends SandboxLimits {
  /** Plain data and host capabilities: functions (called async from inside), or objects whose methods are (RPC targets). */
  env?: Record<string, unknown>;
  /** null (default): fetch fails. A function: receives every outbound Request and returns a Response (or throws to refuse). */
  globalOutbound?: OutboundHandler | null;
  /**
   * The engine; default the process-wide worker pool (`workerPoolEngine()`: sandboxes run on worker
   * threads). `inThreadEngine()` runs them on the calling thread instead.
   */
  engine?: SandboxEngine;
  /** More code inside and host operations behind it, for one kind of guest (a Durable Object loaded from code). */
  extension?: SandboxExtension;
}

export type LogLevel = "log" | "info" | "warn" | "error" | "debug";

export interface RunResult<T = unknown> {
  result?: T;
  error?: { name: string; message: string; limit?: string };
  logs: Array<{ level: LogLevel; message: string }>;
}

/** Thrown by Sandbox.create / load for bad options or code that fails to load. */
export class SandboxError extends Error {
  /** The limit that stopped it, if any. */
  readonly limit: string | undefined;

  constructor(message: string, limit?: string) {
    super(message);
    this.limit = limit;
    this.name = "SandboxError";
  }
}


const LEVELS = new Set<LogLevel>(["log", "info", "warn", "error", "debug"]);

/**
 * What one console entry counts against `maxOutputBytes` at least, however short its text: the host
 * keeps an entry per call, so empty lines must use up the bound too (1 MiB: 65,536 entries at most).
 */
export const MIN_LOG_ENTRY_BYTES = 16;

/** What a console entry counts against the output bound. */
function entryBytes(message: string): number {
  return Math.max(bytesOf(message), MIN_LOG_ENTRY_BYTES);
}

function positive(name: keyof SandboxLimits, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  if (value > max) throw new RangeError(`${name} must be at most ${max}, got ${value}`);
  return value;
}

export class Sandbox {
  readonly #engineContext: EngineContext;
  readonly #limits: Required<SandboxLimits>;
  readonly #capabilities: Capability[];
  readonly #outbound: OutboundHandler | null;
  readonly #extension: SandboxExtension | undefined;
  #logs: RunResult["logs"] = [];
  #outputUsed = 0;
  #truncated = false;
  #queue: Promise<unknown> = Promise.resolve();
  #loaded = false;
  #stopped: RunResult["error"] | undefined;

  private constructor(context: EngineContext, limits: Required<SandboxLimits>, capabilities: Capability[], outbound: OutboundHandler | null, extension: SandboxExtension | undefined) {
    this.#engineContext = context;
    this.#limits = limits;
    this.#capabilities = capabilities;
    this.#outbound = outbound;
    this.#extension = extension;
  }

  /** A fresh sandbox with the prelude evaluated; `env` and `globalOutbound` are fixed for its life. */
  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const limits: Required<SandboxLimits> = {
      memoryBytes: positive("memoryBytes", options.memoryBytes, LIMITS.sandboxMemoryBytes, LIMITS.sandboxMaxMemoryBytes),
      cpuMs: positive("cpuMs", options.cpuMs, LIMITS.sandboxCpuMs),
      wallMs: positive("wallMs", options.wallMs, LIMITS.sandboxWallMs),
      maxOutputBytes: positive("maxOutputBytes", options.maxOutputBytes, LIMITS.sandboxMaxOutputBytes),
    };
    if (options.globalOutbound !== undefined && options.globalOutbound !== null && typeof options.globalOutbound !== "function") {
      throw new TypeError("globalOutbound must be a function or null");
    }
    const capabilities: Capability[] = [];
    const envShape = describeEnv(options.env ?? {}, capabilities);
    const extension = options.extension;
    const config = JSON.stringify({ maxOutputBytes: limits.maxOutputBytes, maxHostCallBytes: LIMITS.maxHostCallBytes, env: envShape, extension: extension?.name ?? null });
    let sandbox: Sandbox | undefined = undefined;
    const host: EngineHost = {
      syncCall: (op, payload) =>
        op === "config" ? config : op === "web" ? WEB_PRELUDE : op === "buffers" ? BUFFER_PRELUDE : op === "extension" ? extension?.source : sandbox!.#syncCall(op, payload),
      asyncCall: (op, payload) => sandbox!.#asyncCall(op, payload),
      // An extension's sync operations are a guest's storage, inside the host's implicit transaction.
      holdsTurn: (op) => extension?.sync !== undefined && op.startsWith(`${extension.name}.`),
      // The buffer checks (small) too: a worker answers them without a round trip when the code first uses a buffer.
      constants: extension ? { config, buffers: BUFFER_PRELUDE, extension: extension.source } : { config, buffers: BUFFER_PRELUDE },
    };
    const engine = options.engine ?? workerPoolEngine();
    // Set up with a larger budget than a call: the prelude is ours, not the sandbox's code.
    const context = await engine.createContext({ memoryBytes: limits.memoryBytes, host });
    sandbox = new Sandbox(context, limits, capabilities, options.globalOutbound ?? null, extension);
    try {
      await context.evalScript(PRELUDE, "hearth:prelude", { cpuMs: Math.max(limits.cpuMs, 1000), deadline: performance.now() + Math.max(limits.wallMs, 5000), wallMs: Math.max(limits.wallMs, 5000) });
    } catch (error) {
      context.dispose();
      throw new SandboxError(`the sandbox could not start: ${(error as Error).message}`, error instanceof EngineError ? error.limit : undefined);
    }
    return sandbox;
  }

  /** Bytes used by the sandbox's heap (0 once disposed). */
  get memoryUsage(): number {
    return this.#engineContext.memoryUsage;
  }

  /** Whether the sandbox can still run code (not disposed or stopped by a limit). */
  get alive(): boolean {
    return this.#engineContext.alive && !this.#stopped;
  }

  /**
   * Evaluates an ES module set; `mainModule`'s exports become callable. Relative imports resolve
   * against the importing module's name; nothing outside `modules` can be imported. Once per sandbox.
   * Throws SandboxError when the code fails to load (syntax error, throwing top-level code, a limit).
   */
  async load(modules: Record<string, string>, mainModule: string): Promise<void> {
    if (this.#loaded) throw new SandboxError("load() can be called once per sandbox");
    if (typeof mainModule !== "string" || !(mainModule in modules)) throw new SandboxError(`mainModule ${JSON.stringify(mainModule)} is not one of the modules`);
    for (const [name, source] of Object.entries(modules)) {
      if (typeof source !== "string") throw new SandboxError(`module ${JSON.stringify(name)} must be a string of source code`);
    }
    this.#loaded = true;
    // Workers code imports its base classes from "cloudflare:workers"; a module of that name given by the code wins.
    const withRuntime = "cloudflare:workers" in modules ? modules : { ...modules, "cloudflare:workers": CLOUDFLARE_WORKERS_MODULE };
    const result = await this.#serial(async () => {
      const bootstrap = `import * as main from ${JSON.stringify(mainModule)};\nglobalThis.__hearth_main(main);\n`;
      await this.#engineContext.evalModule(bootstrap, "hearth:bootstrap", withRuntime, this.#budget());
      return {};
    });
    if (result.error) throw new SandboxError(`${result.error.name}: ${result.error.message}`, result.error.limit);
  }

  /** Calls an export of the main module (or a method of its default export); async functions are awaited. */
  async call<T>(exportName: string, args: unknown[] = []): Promise<RunResult<T>> {
    if (typeof exportName !== "string") throw new TypeError("exportName must be a string");
    let payload: string;
    try {
      payload = JSON.stringify({ name: exportName, args });
    } catch (error) {
      return { error: { name: "TypeError", message: `arguments must be JSON-compatible: ${(error as Error).message}` }, logs: [] };
    }
    return this.#dispatch<T>("call", payload);
  }

  /** Runs a code-mode snippet: the source of an `async () => { … }` function; returns what it returns. */
  async runFunction<T>(source: string): Promise<RunResult<T>> {
    if (typeof source !== "string") throw new TypeError("source must be a string");
    return this.#dispatch<T>("run", JSON.stringify({ source }));
  }

  /**
   * Dispatches `op` to the sandbox's extension (its `dispatch(op, payload)` inside), as one call
   * under the sandbox's limits. The payload is a JSON string; the result is what the extension returns.
   */
  async extensionCall<T>(op: string, payload: string): Promise<RunResult<T>> {
    if (!this.#extension) throw new SandboxError("this sandbox has no extension");
    return this.#dispatch<T>(`${this.#extension.name}.${op}`, payload);
  }

  /** Sends a request to the main module's `export default { fetch }` (used by the Loader). */
  async fetch(request: Request): Promise<Response> {
    const wire = await toWireRequest(request);
    const result = await this.#dispatch<WireMessage>("fetch", JSON.stringify(wire));
    if (result.error) {
      const error = new Error(result.error.message);
      error.name = result.error.name;
      throw error;
    }
    return fromWireResponse(result.result!);
  }

  dispose(): void {
    this.#engineContext.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #budget(): Budget {
    return { cpuMs: this.#limits.cpuMs, deadline: performance.now() + this.#limits.wallMs, wallMs: this.#limits.wallMs };
  }

  async #dispatch<T>(op: string, payload: string): Promise<RunResult<T>> {
    return this.#serial(async () => {
      const answer = await this.#engineContext.invoke("__hearth_dispatch", [op, payload], this.#budget());
      // The prelude's envelope; the value inside is the sandbox's to shape, so its nesting is checked before the host parses it.
      if (nestsDeeper(answer)) {
        return { error: { name: "SandboxLimitError", message: tooDeep("the result").message, limit: "maxJsonDepth" } };
      }
      const parsed = JSON.parse(answer) as { ok: boolean; value?: T; error?: { name: string; message: string } };
      if (typeof parsed !== "object" || parsed === null || typeof parsed.ok !== "boolean") throw new EngineError("the sandbox prelude returned an answer of the wrong shape", undefined, false);
      if (!parsed.ok) {
        const error = parsed.error ?? { name: "Error", message: "unknown error" };
        // The code's own error, whatever it says: the memory limit, refused allocations included, is the
        // engine's meter's to report (the engine context fails the call with it), never read from an error's text.
        // An error's text counts against the output cap as a result does: it is cut, marked so.
        return { error: { name: cutText(String(error.name), 256), message: cutText(String(error.message), this.#limits.maxOutputBytes) } };
      }
      const resultBytes = bytesOf(answer);
      if (resultBytes > this.#limits.maxOutputBytes) {
        return { error: { name: "SandboxLimitError", message: `output of ${this.#limits.maxOutputBytes} bytes exceeded (maxOutputBytes): the result is ${resultBytes} bytes`, limit: "maxOutputBytes" } };
      }
      if (this.#outputUsed + resultBytes > this.#limits.maxOutputBytes) this.#trimLogs(this.#limits.maxOutputBytes - resultBytes);
      return parsed.ok && "value" in parsed ? { result: parsed.value } : {};
    });
  }

  /** Runs one call at a time; resets the per-call output; turns engine failures into RunResult errors. */
  #serial<T>(fn: () => Promise<Omit<RunResult<T>, "logs">>): Promise<RunResult<T>> {
    const run = async (): Promise<RunResult<T>> => {
      if (this.#stopped) return { error: this.#stopped, logs: [] };
      this.#logs = [];
      this.#outputUsed = 0;
      this.#truncated = false;
      try {
        const result = await fn();
        return { ...result, logs: this.#logs };
      } catch (error) {
        if (error instanceof EngineError) {
          const failure = error.limit ? { name: "SandboxLimitError", message: error.message, limit: error.limit } : { name: "SandboxError", message: error.message };
          if (error.fatal || !this.#engineContext.alive) {
            this.#stopped = { ...failure, message: `${failure.message}; the sandbox was stopped` };
            this.#engineContext.dispose();
          }
          return { error: failure, logs: this.#logs };
        }
        const e = error as Error;
        return { error: { name: e.name || "Error", message: e.message }, logs: this.#logs };
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Keeps the logs within `room` bytes so that the result fits: the result matters more. */
  #trimLogs(room: number): void {
    const kept: RunResult["logs"] = [];
    let used = 0;
    for (const entry of this.#logs) {
      const bytes = entryBytes(entry.message);
      if (used + bytes > room) {
        const cut = Buffer.from(entry.message, "utf8").subarray(0, Math.max(0, room - used)).toString("utf8").replace(/\uFFFD$/, "");
        kept.push({ level: entry.level, message: `${cut}… [output truncated: ${this.#limits.maxOutputBytes} bytes exceeded (maxOutputBytes)]` });
        break;
      }
      used += bytes;
      kept.push(entry);
    }
    this.#logs = kept;
  }

  #syncCall(op: string, payload: string): string | undefined {
    if (op === "log") return this.#log(payload);
    if (op === "url") return urlOp(payload);
    const extension = this.#extension;
    if (extension?.sync && op.startsWith(`${extension.name}.`)) {
      checkHostCallSize(payload);
      const nested = (nestedOp: string, nestedPayload: string) => this.#engineContext.callNested("__hearth_nested", [nestedOp, nestedPayload]);
      return checkHostCallSize(extension.sync(op.slice(extension.name.length + 1), payload, nested));
    }
    throw new Error(`unknown bridge operation ${op}`);
  }

  #log(payload: string): string {
    const { level, message } = parseFromSandbox(payload, "a console message") as { level: LogLevel; message: unknown };
    const left = this.#limits.maxOutputBytes - this.#outputUsed;
    if (this.#truncated || left <= 0) return "0";
    const lvl = LEVELS.has(level) ? level : "log";
    const text = typeof message === "string" ? message : String(message);
    const bytes = entryBytes(text);
    if (bytes <= left) {
      this.#outputUsed += bytes;
      this.#logs.push({ level: lvl, message: text });
    } else {
      const cut = Buffer.from(text, "utf8").subarray(0, left).toString("utf8").replace(/\uFFFD$/, "");
      this.#logs.push({ level: lvl, message: `${cut}… [output truncated: ${this.#limits.maxOutputBytes} bytes exceeded (maxOutputBytes)]` });
      this.#outputUsed = this.#limits.maxOutputBytes;
      this.#truncated = true;
    }
    return String(this.#limits.maxOutputBytes - this.#outputUsed);
  }

  async #asyncCall(op: string, payload: string): Promise<string> {
    const size = bytesOf(payload);
    if (size > LIMITS.maxHostCallBytes) throw hostCallTooBig(size);
    let answer: string;
    const extension = this.#extension;
    if (op === "call") answer = await this.#callCapability(payload);
    else if (op === "fetch") answer = await this.#fetchOutbound(payload);
    else if (extension?.async && op.startsWith(`${extension.name}.`)) answer = await extension.async(op.slice(extension.name.length + 1), payload);
    else throw new Error(`unknown bridge operation ${op}`);
    const answerSize = bytesOf(answer);
    if (answerSize > LIMITS.maxHostCallBytes) throw hostCallTooBig(answerSize);
    return answer;
  }

  async #callCapability(payload: string): Promise<string> {
    const { id, args } = parseFromSandbox(payload, "a host call") as { id: unknown; args: unknown };
    const capability = typeof id === "number" && Number.isInteger(id) ? this.#capabilities[id] : undefined;
    if (!capability || typeof args !== "string") throw new TypeError("unknown capability");
    const list: unknown = parseFromSandbox(args, "the argument list of a host call");
    if (!Array.isArray(list)) throw new TypeError("capability arguments must be an array");
    const result = await capability(...(list as unknown[]));
    if (result === undefined) return "";
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      throw new TypeError(`the capability's result is not JSON-compatible: ${(error as Error).message}`, { cause: error });
    }
    return json ?? "";
  }

  async #fetchOutbound(payload: string): Promise<string> {
    const wire = parseFromSandbox(payload, "a fetch request") as WireMessage;
    const outbound = this.#outbound;
    if (!outbound) {
      throw new TypeError(`fetch(${JSON.stringify(String(wire.url))}) refused: this sandbox has no network access (globalOutbound is null)`);
    }
    const request = new Request(String(wire.url), {
      method: String(wire.method ?? "GET"),
      headers: wire.headers,
      body: wire.body === null ? null : Buffer.from(wire.body, "base64"),
    });
    const response = await outbound(request);
    if (!(response instanceof Response)) throw new TypeError("globalOutbound must return a Response");
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > LIMITS.maxHostCallBytes) throw hostCallTooBig(body.length);
    const out: WireMessage = { status: response.status, statusText: response.statusText, headers: [...response.headers], body: body.length ? body.toString("base64") : null };
    return JSON.stringify(out);
  }
}

/** URL parsing for the sandbox, with the host's WHATWG URL. */
function urlOp(payload: string): string {
  const p = parseFromSandbox(payload, "a URL") as { input: string; base?: string; set?: string; value?: string };
  try {
    const url = new URL(p.input, p.base);
    if (p.set) {
      const key = p.set as "href";
      if (["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"].includes(key)) url[key] = String(p.value);
    }
    const { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash } = url;
    return JSON.stringify({ href, origin, protocol, username, password, host, hostname, port, pathname, search, hash });
  } catch (error) {
    return JSON.stringify({ error: `Invalid URL: ${(error as Error).message}` });
  }
}

/** `text`, cut to about `max` UTF-16 units with a note of what was left out (bytes ≥ units, so a cut text stays under a byte cap of `max`). */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … (${text.length - max} more characters cut: maxOutputBytes)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}
