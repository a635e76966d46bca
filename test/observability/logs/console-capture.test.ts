import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../../src/index.ts";
import { captureConsole, createLogger, runWithLogContext } from "../../../src/observability/logs/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { collector } from "./collect.ts";

class Chatty extends Agent {
  async talk(item: string) {
    console.log("saw %d %s", 3, item, { extra: true });
    await new Promise((resolve) => setTimeout(resolve, 1)); // the context survives a timer
    console.info("info");
    console.debug("debug line");
    console.warn("careful");
    console.error(new Error("broke"));
    console.log({ password: "pw", user: "ada" });
    return "done";
  }
  async traced() {
    return runWithLogContext({ requestId: "req-9" }, async () => {
      console.log("with request");
      return 1;
    });
  }
}

class Leaky extends Agent {
  leak() {
    const error = Object.assign(new Error("upstream failed"), { password: "hunter2", status: 502 });
    console.error(error, "while calling the bank");
    console.error("failed: %s (%o) then", error, { apiKey: "abcd1234" }, "retrying");
    console.log("as json %j", error, "end");
    console.log("map", new Map<unknown, unknown>([["region", "eu"], ["password", "hunter2"], [7, { token: "t" }]]));
    console.log("set", new Set([1, { secret: "s" }]));
    console.log("nested", { when: new Date(0), seen: new Set(["a"]), bytes: new Uint8Array([1]) });
    return 1;
  }
}

describe("captureConsole", () => {
  let t: TestEnv | undefined;
  let restore: (() => void) | undefined;
  const passed: unknown[][] = [];
  let realLog: typeof console.log;

  beforeEach(() => {
    // What the console did before the capture: a recorder, to see what passes through.
    realLog = console.log;
    passed.length = 0;
    console.log = (...args: unknown[]) => void passed.push(args);
  });
  afterEach(async () => {
    restore?.();
    restore = undefined;
    console.log = realLog;
    await t?.close();
    t = undefined;
  });

  it("turns console calls inside an agent's event into records with its class and name", async () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null, level: "debug" }));
    t = await createTestEnv({ agents: { Chatty } });
    expect(await t.get<Chatty>("Chatty", "ada").talk("apples")).toBe("done");
    const records = out.records();
    expect(records.map((r) => [r.level, r.agent, r.name, r.msg])).toEqual([
      [30, "Chatty", "ada", "saw 3 apples { extra: true }"],
      [30, "Chatty", "ada", "info"],
      [20, "Chatty", "ada", "debug line"],
      [40, "Chatty", "ada", "careful"],
      [50, "Chatty", "ada", "broke"],
      [30, "Chatty", "ada", "{ password: '[Redacted]', user: 'ada' }"],
    ]);
    expect(records[4]?.err).toMatchObject({ type: "Error", message: "broke" });
    expect(passed).toEqual([]);
  });

  it("redacts an error that is not the trailing argument, formatting it as the console would", async () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }));
    t = await createTestEnv({ agents: { Leaky } });
    await t.get<Leaky>("Leaky", "ada").leak();
    const [first, second, third] = out.records().map((r) => r.msg as string);
    expect(out.lines.join("")).not.toContain("hunter2");
    expect(out.lines.join("")).not.toContain("abcd1234");
    expect(first).toMatch(/^Error: upstream failed\n {4}at /);
    expect(first).toMatch(/\{ password: '\[Redacted\]', status: 502 \} while calling the bank$/);
    expect(second).toMatch(/^failed: Error: upstream failed\n/);
    expect(second).toMatch(/\{ password: '\[Redacted\]', status: 502 \} \(\{ apiKey: '\[Redacted\]' \}\) then retrying$/);
    expect(third).toBe('as json {"password":"[Redacted]","status":502} end');
  });

  it("keeps the content of Maps, Sets, Dates and binary data, redacted", async () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }));
    t = await createTestEnv({ agents: { Leaky } });
    await t.get<Leaky>("Leaky", "bo").leak();
    expect(out.records().slice(3).map((r) => r.msg)).toEqual([
      "map Map(3) {\n  'region' => 'eu',\n  'password' => '[Redacted]',\n  7 => { token: '[Redacted]' }\n}",
      "set Set(2) { 1, { secret: '[Redacted]' } }",
      "nested {\n  when: 1970-01-01T00:00:00.000Z,\n  seen: Set(1) { 'a' },\n  bytes: Uint8Array(1) [ 1 ]\n}",
    ]);
  });

  it("carries the request id given inside the event", async () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }));
    t = await createTestEnv({ agents: { Chatty } });
    await t.get<Chatty>("Chatty", "bo").traced();
    expect(out.records()).toEqual([expect.objectContaining({ agent: "Chatty", name: "bo", requestId: "req-9", msg: "with request" })]);
  });

  it("leaves console calls outside any agent unchanged", () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }));
    console.log("outside %s", "x", { a: 1 });
    expect(passed).toEqual([["outside %s", "x", { a: 1 }]]);
    expect(out.lines).toEqual([]);
  });

  it("with everywhere: true, captures outside agents too, keeping a trailing error structured", () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }), { everywhere: true });
    console.log("outside %s", "x");
    console.error("[hearth] GET /a:", new TypeError("bad input"));
    expect(passed).toEqual([]);
    const records = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ level: 30, msg: "outside x" });
    expect(records[0]).not.toHaveProperty("agent");
    expect(records[1]).toMatchObject({ level: 50, msg: "[hearth] GET /a:", err: { type: "TypeError", message: "bad input" } });
  });

  it("with recordOutside, prints outside agents as before and also keeps a record there; inside, only the logger writes", async () => {
    const out = collector();
    const kept = collector();
    restore = captureConsole(createLogger({ destination: out, base: null }), { recordOutside: createLogger({ destination: kept, base: null }) });
    console.log("outside %s", "y");
    expect(passed).toEqual([["outside %s", "y"]]);
    expect(kept.records()).toMatchObject([{ level: 30, msg: "outside y" }]);
    expect(out.lines).toEqual([]);
    t = await createTestEnv({ agents: { Chatty } });
    await t.get<Chatty>("Chatty", "rec").talk("pears");
    expect(out.records().map((r) => r.agent)).toContain("Chatty");
    expect(kept.records().filter((r) => r.agent !== undefined)).toEqual([]);
  });

  it("drops captured calls below the logger's level", async () => {
    const out = collector();
    restore = captureConsole(createLogger({ destination: out, base: null, level: "warn" }));
    t = await createTestEnv({ agents: { Chatty } });
    await t.get<Chatty>("Chatty", "cy").talk("x");
    expect(out.records().map((r) => r.msg)).toEqual(["careful", "broke"]);
  });

  it("is restorable, and a later wrapper survives the restore", async () => {
    const out = collector();
    const stop = captureConsole(createLogger({ destination: out, base: null }));
    expect(console.log).not.toBe(passed.push);
    stop();
    stop(); // twice is harmless
    t = await createTestEnv({ agents: { Chatty } });
    await t.get<Chatty>("Chatty", "di").talk("x");
    expect(out.lines).toEqual([]);
    expect(passed[0]).toEqual(["saw %d %s", 3, "x", { extra: true }]);

    passed.length = 0;
    const again = captureConsole(createLogger({ destination: out, base: null }));
    const later = console.log;
    const wrappedByOthers = (...args: unknown[]) => later(...args);
    console.log = wrappedByOthers;
    again();
    expect(console.log).toBe(wrappedByOthers);
    await t.get<Chatty>("Chatty", "di").talk("y");
    expect(out.lines).toEqual([]);
    expect(passed[0]).toEqual(["saw %d %s", 3, "y", { extra: true }]);
  });

  it("does not loop when the logger writes to the console itself", async () => {
    const seen: string[] = [];
    const destination = { write: (line: string) => console.log(line.trim()) };
    restore = captureConsole(createLogger({ destination, base: null }));
    t = await createTestEnv({ agents: { Chatty } });
    await t.get<Chatty>("Chatty", "ed").traced();
    for (const [line] of passed) seen.push(String(line));
    expect(seen.map((line) => JSON.parse(line).msg)).toEqual(["with request"]);
  });
});
