/**
 * Native string searches run no bytecode, so the interrupt that enforces cpuMs never comes while
 * one runs, and a long needle makes them quadratic. They must stop at the CPU budget like any loop,
 * leave the other sandboxes of their worker alone, and give the builtins' own results.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Sandbox, WorkerPoolEngine, type SandboxOptions } from "../../src/sandbox/index.ts";

const pool = new WorkerPoolEngine({ size: 1 });
const open: Sandbox[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.dispose();
});
afterAll(() => pool.close());
async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await Sandbox.create({ engine: pool, ...options });
  open.push(s);
  return s;
}

/** A 4 MB haystack and a 1 MB needle that almost matches everywhere: hours of comparisons. */
const SETUP = "const s = 'a'.repeat(4e6), n = 'a'.repeat(1e6) + 'b';";
const SEARCHES = [
  "s.indexOf(n)",
  "s.includes(n)",
  "s.lastIndexOf(n)",
  "s.split(n)",
  "s.replace(n, 'x')",
  "s.replaceAll(n, 'x')",
  "s.replace(n, () => 'x')",
  "s.indexOf({ toString: () => n })",
  "String.prototype.indexOf.call({ toString: () => s }, n)",
];

describe("a native string search with a long needle", () => {
  it.each(SEARCHES)("%s stops at the CPU budget, and the worker's other sandboxes go on", async (search) => {
    const neighbour = await sandbox();
    await neighbour.runFunction("async () => { globalThis.count = 1 }");
    const started = performance.now();
    const r = await (await sandbox()).runFunction(`async () => { ${SETUP} try { return ${search} } catch (e) { return 'caught ' + e.message } }`);
    expect(r.error).toEqual({ name: "SandboxLimitError", message: "CPU budget of 50 ms exceeded (cpuMs)", limit: "cpuMs" });
    // Far from the 36 s a stuck worker took before it was stopped.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await neighbour.runFunction("async () => ++count")).toEqual({ result: 2, logs: [] });
  }, 60_000);

  it("gives the builtins' results, across the steps a long search is made in", async () => {
    const cases = NEEDLE_LENGTHS.map(searchCase);
    const s = await sandbox({ cpuMs: 20_000, wallMs: 60_000, memoryBytes: 128 * 1024 * 1024, env: { caseOf: (i: number) => cases[i] } });
    const r = await s.runFunction(`async () => {
      const answers = ${answers.toString()};
      const out = [];
      for (let i = 0; i < ${cases.length}; i++) { const c = await caseOf(i); out.push(answers(c.hay, c.needle)); }
      return out;
    }`);
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual(cases.map(({ hay, needle }) => answers(hay, needle)));
  }, 120_000);
});

const NEEDLE_LENGTHS = [3, 40, 700, 5_000, 70_000];
const HAY_LENGTH = 1_500_000;

/**
 * A haystack of pseudo-random text holding a needle of `m` characters near the edges of the steps a
 * search is made in, and near misses (the needle but its last character) elsewhere.
 */
function searchCase(m: number): { hay: string; needle: string } {
  let seed = m;
  const text = (n: number) => {
    let out = "";
    for (let i = 0; i < n; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      out += "abcdefgh"[seed % 8];
    }
    return out;
  };
  const needle = text(m - 1) + "Z";
  const miss = needle.slice(0, -1) + "Y";
  const step = Math.floor(1_048_576 / Math.min(m, 32));
  const chars = text(HAY_LENGTH).split("");
  const put = (at: number, what: string) => chars.splice(at, what.length, ...what.split(""));
  for (let k = 1; k < 20; k++) put(Math.floor((k * HAY_LENGTH) / 21), miss);
  for (const at of [0, step - 1, step + 1, 3 * step + 7, HAY_LENGTH - m]) if (at >= 0 && at + m <= HAY_LENGTH) put(at, needle);
  return { hay: chars.join(""), needle };
}

/** What each guarded builtin answers for one haystack and needle (run on the host, and in the sandbox). */
function answers(hay: string, needle: string): unknown[] {
  const sizes = (parts: string[]) => parts.map((p) => p.length);
  const positions = (text: string) => text.match(/<\d+>/g);
  return [
    hay.indexOf(needle),
    hay.indexOf(needle, 1),
    hay.indexOf(needle, hay.length - 3 * needle.length),
    hay.lastIndexOf(needle),
    hay.lastIndexOf(needle, hay.length - needle.length - 1),
    hay.lastIndexOf(needle, 5),
    hay.includes(needle),
    hay.includes(needle, hay.length - needle.length + 1),
    hay.includes(needle.slice(0, -1) + "X"),
    sizes(hay.split(needle)),
    sizes(hay.split(needle, 3)),
    hay.replace(needle, "<$&|$$|$1>").length,
    hay.replace(needle, "$`").length,
    hay.replace(needle, (m: string, i: number) => `<${i}>`).slice(0, 20),
    positions(hay.replaceAll(needle, (m: string, i: number) => `<${i}>`)),
    hay.replaceAll(needle, "$'").length,
    `${needle}x`.indexOf(needle + "x"),
  ];
}
