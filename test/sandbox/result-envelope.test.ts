/**
 * What a call hands back to the host: the prelude's envelope around the code's value. The code may
 * replace any global before it returns; the envelope must still be the prelude's own, and the host
 * must not trust the nesting of the value inside it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Sandbox, type SandboxOptions } from "../../src/sandbox/index.ts";
import { MAX_JSON_DEPTH } from "../../src/sandbox/wire.ts";

const open: Sandbox[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});
async function sandbox(options?: SandboxOptions): Promise<Sandbox> {
  const s = await Sandbox.create(options);
  open.push(s);
  return s;
}
const nested = (depth: number) => `(() => { let a = []; for (let i = 0; i < ${depth}; i++) a = [a]; return a; })()`;

describe("the result envelope", () => {
  it("is built with the JSON the sandbox started with, whatever the code put in its place", async () => {
    const forgeries = [
      `'['.repeat(400000) + ']'.repeat(400000)`,
      `'1,"value":2,"x":3'`,
      `'{"__proto__":{"polluted":true}}'`,
      `'1}'`,
    ];
    for (const forged of forgeries) {
      const s = await sandbox();
      const r = await s.runFunction(`async () => { const d = ${forged}; JSON.stringify = () => d; JSON.parse = () => ({ ok: true, value: d }); return 1 }`);
      expect(r, forged).toEqual({ result: 1, logs: [] });
      // The next call is answered the same way: the envelope never used the replaced functions.
      expect(await s.runFunction("async () => ({ a: [1, 'two'] })"), forged).toEqual({ result: { a: [1, "two"] }, logs: [] });
    }
  });

  it("keeps errors and console lines well-formed when String, Array and JSON are replaced", async () => {
    const s = await sandbox();
    const r = await s.runFunction(`async () => {
      JSON.stringify = () => '{"level":"error","message":[[[[]]]]}';
      String = () => ({ toString() { return "forged" } });
      Array.prototype.map = () => ({ join: () => ({}) });
      console.log('a', 1);
      const e = new Error('boom'); e.name = { toString() { return 'Named' } };
      throw e;
    }`);
    expect(r).toEqual({ error: { name: "Named", message: "boom" }, logs: [{ level: "log", message: "a forged" }] });
  });

  it(`refuses a result nested more than ${MAX_JSON_DEPTH} levels deep with a limit error that only fails that call`, async () => {
    const s = await sandbox();
    expect(await s.runFunction(`async () => ${nested(MAX_JSON_DEPTH + 500)}`)).toEqual({
      error: { name: "SandboxLimitError", message: `the result is nested more than ${MAX_JSON_DEPTH} levels deep (maxJsonDepth)`, limit: "maxJsonDepth" },
      logs: [],
    });
    const within = await s.runFunction<unknown[]>(`async () => ${nested(MAX_JSON_DEPTH - 10)}`);
    expect(within.error).toBeUndefined();
    expect(Array.isArray(within.result)).toBe(true);
    // Brackets inside strings are text, not nesting.
    expect((await s.runFunction<string>(`async () => '['.repeat(${MAX_JSON_DEPTH * 3})`)).result).toHaveLength(MAX_JSON_DEPTH * 3);
  });

  it("refuses capability arguments nested too deep before the capability sees them", async () => {
    let calls = 0;
    const s = await sandbox({ env: { f: () => ++calls } });
    const r = await s.runFunction(`async () => { try { await f(${nested(MAX_JSON_DEPTH + 500)}); return 'called' } catch (e) { return e.message } }`);
    expect(r.result).toBe(`the argument list of a host call is nested more than ${MAX_JSON_DEPTH} levels deep (maxJsonDepth)`);
    expect(calls).toBe(0);
  });
});
