/**
 * Shared by the suites of Durable Objects loaded from code: a parent Durable Object (`Hosts`) that
 * hands each customer a facet running that customer's code, and a registry of the code by worker id.
 */
import { DurableObject, type DurableObjectNamespace } from "../../src/index.ts";
import type { DurableObjectClassOptions } from "../../src/sandbox/loaded-class.ts";
import type { WorkerCode, WorkerLoader } from "../../src/sandbox/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

/** The customers' code, by worker id (the loader's factory reads it from here). */
export const codes = new Map<string, WorkerCode>();
/** How many times the loader ran each worker's factory. */
export const factoryRuns = new Map<string, number>();

/** Registers `source` as the main module of worker `workerId`. */
export function defineWorker(workerId: string, source: string, extra: Partial<WorkerCode> = {}): void {
  codes.set(workerId, { mainModule: "main.js", modules: { "main.js": source }, ...extra });
}

/** Where a facet's code comes from: a worker id and the class's export name, with getDurableObjectClass options. */
export interface FacetCode {
  worker: string;
  exportName?: string;
  options?: DurableObjectClassOptions;
}

/** What a call through a facet gave: its value, or its error's name, message and limit. */
export type Outcome = { value: unknown } | { error: { name: string; message: string; limit?: string } };

type AnyStub = Record<string, (...args: unknown[]) => Promise<unknown>> & { fetch(url: string, init?: RequestInit): Promise<Response> };

/** The operator's Durable Object: each customer's agent is a facet of it, running code it loaded. */
export class CodeHost extends DurableObject<{ LOADER: WorkerLoader }> {
  #facet(name: string, code: FacetCode): AnyStub {
    return this.ctx.facets.get(name, () => {
      const worker = this.env.LOADER.get(code.worker, () => {
        factoryRuns.set(code.worker, (factoryRuns.get(code.worker) ?? 0) + 1);
        const found = codes.get(code.worker);
        if (!found) throw new Error(`no code registered for ${code.worker}`);
        return found;
      });
      return { class: worker.getDurableObjectClass(code.exportName ?? "Customer", code.options), id: name };
    }) as unknown as AnyStub;
  }

  /** Calls `method` on the facet `name`; its error comes back as data (name, message, limit). */
  async call(name: string, code: FacetCode, method: string, ...args: unknown[]): Promise<Outcome> {
    try {
      return { value: await this.#facet(name, code)[method]!(...args) };
    } catch (error) {
      const e = error as Error & { limit?: string };
      return { error: { name: e.name, message: e.message, ...(e.limit ? { limit: e.limit } : {}) } };
    }
  }

  /** Sends a request to the facet `name`. */
  async fetchFacet(name: string, code: FacetCode, url: string, init?: { method?: string; body?: string }): Promise<{ status: number; body: string } | { error: string }> {
    try {
      const response = await this.#facet(name, code).fetch(url, init);
      return { status: response.status, body: await response.text() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  abort(name: string, reason: string): void {
    this.ctx.facets.abort(name, new Error(reason));
  }

  remove(name: string): void {
    this.ctx.facets.delete(name);
  }

  /** The parent's own storage, to show the facets never see it. */
  remember(value: string): void {
    this.ctx.storage.kv.put("secret", value);
  }

  ping(): string {
    return "pong";
  }
}

export function startCodeHost(options: Parameters<typeof startHarness>[1] = {}): Promise<Harness> {
  return startHarness({}, { ...options, durableObjects: { Hosts: CodeHost } });
}

export function codeHost(harness: Harness, name = "operator") {
  return (harness.host.env.Hosts as DurableObjectNamespace<CodeHost>).getByName(name);
}

/** Resets the registries (afterEach). */
export function forgetWorkers(): void {
  codes.clear();
  factoryRuns.clear();
}
