/**
 * Inside an agent, a line's `agent` and `name` are the agent's class and instance name whatever the
 * call's fields or bindings hold: a field of the same name is kept as `field_<name>`, so the line is
 * stored (and found) under the right agent. Both Hearth's logger and fromPino.
 */
import { describe, expect, it } from "vitest";
import { runInAgentScope } from "../../../src/agent/context.ts";
import { createLogger, fromPino, runWithLogContext, type PinoLike } from "../../../src/observability/logs/index.ts";
import { LogStore } from "../../../src/observability/store/index.ts";
import { collector } from "./collect.ts";

const NOW = 1_764_730_000_000;

/** Runs `fn` as an event of the agent Inbox/ada (the agent object stands for its runtime). */
function asInboxAda<T>(fn: () => T): T {
  const runtime = {};
  return runInAgentScope({ agent: runtime, runtime, className: "Inbox", name: "ada" }, fn);
}

describe("fields named as the log context's", () => {
  it("Hearth's logger: the agent's class and name win; the caller's values are kept as field_agent and field_name", () => {
    const out = collector();
    const store = new LogStore();
    try {
      const log = createLogger({ destination: out, base: null, now: () => NOW, onRecord: store.onRecord });
      asInboxAda(() => {
        log.info({ name: "report.pdf", size: 1200 }, "uploaded");
        log.info({ agent: "claude-sonnet", tool: "search" }, "tool call");
        log.child({ name: "billing" }).info("from a child");
        runWithLogContext({ requestId: "r-1" }, () => log.info({ requestId: "theirs" }, "request id"));
      });
      log.info({ name: "outside", agent: "none" }, "no agent here");
      expect(out.records()).toEqual([
        { level: 30, time: NOW, agent: "Inbox", name: "ada", field_name: "report.pdf", size: 1200, msg: "uploaded" },
        { level: 30, time: NOW, agent: "Inbox", name: "ada", field_agent: "claude-sonnet", tool: "search", msg: "tool call" },
        { level: 30, time: NOW, field_name: "billing", agent: "Inbox", name: "ada", msg: "from a child" },
        { level: 30, time: NOW, agent: "Inbox", name: "ada", requestId: "r-1", field_requestId: "theirs", msg: "request id" },
        // Outside an agent there is no context to keep: the fields are written as given.
        { level: 30, time: NOW, name: "outside", agent: "none", msg: "no agent here" },
      ]);
      store.flush();
      expect(store.query({ class: "Inbox", agent: "ada" }).items.map((entry) => entry.msg)).toEqual(["request id", "from a child", "tool call", "uploaded"]);
    } finally {
      store.close();
    }
  });

  it("fromPino: the object handed to pino has the context's agent and name, the caller's under field_*", () => {
    const calls: unknown[][] = [];
    const method = (...args: unknown[]) => void calls.push(args);
    const pino: PinoLike = { trace: method, debug: method, info: method, warn: method, error: method, fatal: method, level: "info", child: () => pino };
    const log = fromPino(pino);
    asInboxAda(() => {
      log.info({ name: "report.pdf", size: 1200 }, "uploaded");
      log.info({ agent: "claude-sonnet" }, "tool call");
    });
    expect(calls).toEqual([
      [{ agent: "Inbox", name: "ada", field_name: "report.pdf", size: 1200 }, "uploaded"],
      [{ agent: "Inbox", name: "ada", field_agent: "claude-sonnet" }, "tool call"],
    ]);
  });
});
