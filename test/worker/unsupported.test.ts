/**
 * The stand-in for a binding Hearth cannot provide: looking at it (console.log, util.inspect,
 * String, await, JSON) is harmless; using it (a property, a call, `new`, an assignment) throws an
 * error naming the binding, its config key and where it was declared.
 */
import { format, inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { unsupportedBinding, UnsupportedBindingError } from "../../src/worker/unsupported.ts";
import { thrown } from "../support/thrown.ts";

const declared = { binding: "AI", key: "ai", where: "wrangler.jsonc:7", instead: "call a model provider's API (see docs/compat.md)" };
const MESSAGE = "env.AI (ai, wrangler.jsonc:7) is not available on Hearth: call a model provider's API (see docs/compat.md)";
const DESCRIPTION = "[env.AI: not available on Hearth (ai, wrangler.jsonc:7)]";

// The binding as worker code sees it: an untyped `env` member.
interface AiLike {
  (...args: unknown[]): unknown;
  run(model: string, input: unknown): Promise<unknown>;
  gateway: unknown;
  models?: unknown;
}
const ai = () => unsupportedBinding(declared) as AiLike;

describe("an unsupported binding", () => {
  it("throws on use, naming the binding, its key, where it was declared and what to use instead", () => {
    const uses: Array<() => unknown> = [
      () => ai().run("@cf/meta/llama-3.1-8b-instruct", { prompt: "hi" }),
      () => ai().gateway,
      () => ai()(),
      () => new (ai() as unknown as new () => unknown)(),
      () => {
        ai().models = () => [];
      },
      () => Object.defineProperty(ai(), "x", { value: 1 }),
      () => delete ai().models,
    ];
    for (const use of uses) {
      const error = thrown(use);
      expect(error).toBeInstanceOf(UnsupportedBindingError);
      expect(error.name).toBe("UnsupportedBindingError");
      expect(error.message).toBe(MESSAGE);
    }
  });

  it("rejects an awaited call the same way", async () => {
    await expect((async () => ai().run("model", {}))()).rejects.toThrow(MESSAGE);
  });

  it("can be looked at: console.log, util.inspect, format, String, a template literal", () => {
    const binding = ai();
    expect(inspect(binding)).toBe(DESCRIPTION);
    expect(inspect({ AI: binding, NAME: "app" }, { breakLength: Infinity })).toBe(`{ AI: ${DESCRIPTION}, NAME: 'app' }`);
    expect(inspect(binding, { showProxy: true })).toContain(DESCRIPTION);
    expect(format("%s %o %O", binding, binding, binding)).toContain(DESCRIPTION);
    expect(String(binding)).toBe(DESCRIPTION);
    expect(`${binding as unknown as string}`).toBe(DESCRIPTION);
    const logged: unknown[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => logged.push(format(...args));
    try {
      console.log("env:", { AI: binding });
    } finally {
      console.log = original;
    }
    expect(logged).toEqual([`env: { AI: ${DESCRIPTION} }`]);
  });

  it("can be awaited, JSON-serialised, checked for truthiness and compared", async () => {
    const binding = ai();
    expect(await Promise.resolve(binding)).toBe(binding);
    const awaited: unknown = await (binding as unknown as Promise<unknown>);
    expect(awaited).toBe(binding);
    expect(JSON.stringify({ AI: binding, NAME: "app" })).toBe('{"NAME":"app"}');
    expect(Boolean(binding)).toBe(true);
    expect("run" in binding).toBe(false);
    expect(Object.keys(binding)).toEqual([]);
  });
});
