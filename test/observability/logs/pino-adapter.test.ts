import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../../src/index.ts";
import { captureConsole, fromPino, runWithLogContext, type PinoLike } from "../../../src/observability/logs/index.ts";
import { createTestEnv, type TestEnv } from "../../../src/testing/index.ts";
import { pinoLike, type PinoCall as Call } from "./pino-like.ts";


class Narrator extends Agent {
  speak() {
    console.log("once upon a time");
    return 1;
  }
}

describe("fromPino", () => {
  let t: TestEnv | undefined;
  let restore: (() => void) | undefined;
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await t?.close();
    t = undefined;
  });

  it("forwards pino's call forms, redacting secrets first and leaving errors (redacted copies) to pino's serializers", () => {
    const calls: Call[] = [];
    const log = fromPino(pinoLike(calls));
    const error = new Error("x");
    log.info("hello %s", "world");
    log.warn({ user: "ada", password: "pw" }, "login");
    log.error(error);
    log.error({ err: error, token: "t" }, "failed with Bearer abc");
    expect(calls).toEqual([
      { level: "info", bindings: {}, args: ["hello %s", "world"] },
      { level: "warn", bindings: {}, args: [{ user: "ada", password: "[Redacted]" }, "login"] },
      { level: "error", bindings: {}, args: [{ err: error }, "x"] },
      { level: "error", bindings: {}, args: [{ token: "[Redacted]", err: error }, "failed with [Redacted]"] },
    ]);
  });

  it("redacts objects passed for pino to format into the message (%j, %o)", () => {
    const calls: Call[] = [];
    const log = fromPino(pinoLike(calls));
    log.info("login %j as %s", { user: "ada", password: "hunter2" }, "Bearer abcdef");
    log.info({ n: 1 }, "obj %o", { apiKey: "abcd1234" });
    expect(calls).toEqual([
      { level: "info", bindings: {}, args: ["login %j as %s", { user: "ada", password: "[Redacted]" }, "[Redacted]"] },
      { level: "info", bindings: {}, args: [{ n: 1 }, "obj %o", { apiKey: "[Redacted]" }] },
    ]);
  });

  it("adds the log context, and passes child bindings (redacted) to pino's child", () => {
    const calls: Call[] = [];
    const log = fromPino(pinoLike(calls)).child({ module: "m", apiKey: "k" });
    runWithLogContext({ requestId: "r-1" }, () => {
      log.info("in request");
      log.info({ n: 1 });
    });
    expect(calls).toEqual([
      { level: "info", bindings: { module: "m", apiKey: "[Redacted]" }, args: [{ requestId: "r-1" }, "in request"] },
      { level: "info", bindings: { module: "m", apiKey: "[Redacted]" }, args: [{ requestId: "r-1", n: 1 }] },
    ]);
  });

  it("reads and sets pino's level; isLevelEnabled follows it", () => {
    const pino = pinoLike([]);
    const log = fromPino(pino);
    expect(log.level).toBe("info");
    expect(log.isLevelEnabled("debug")).toBe(false);
    log.level = "debug";
    expect(pino.level).toBe("debug");
    expect(log.isLevelEnabled("debug")).toBe(true);
  });

  it("can leave redaction to pino", () => {
    const calls: Call[] = [];
    fromPino(pinoLike(calls), { redact: false }).info({ password: "pw" });
    expect(calls[0]?.args).toEqual([{ password: "pw" }]);
  });

  it("refuses something that is not pino-like", () => {
    expect(() => fromPino({} as PinoLike)).toThrow("fromPino() needs a pino-like logger: info(obj, msg) and child(bindings) methods");
  });

  it("receives an agent's console lines with its class and name", async () => {
    const calls: Call[] = [];
    restore = captureConsole(fromPino(pinoLike(calls)));
    t = await createTestEnv({ agents: { Narrator } });
    await t.get<Narrator>("Narrator", "ada").speak();
    expect(calls).toEqual([{ level: "info", bindings: {}, args: [{ agent: "Narrator", name: "ada" }, "once upon a time"] }]);
  });
});
