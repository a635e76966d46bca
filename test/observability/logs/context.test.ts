import { afterEach, describe, expect, it } from "vitest";
import { createLogger, currentLogContext, runWithLogContext, setTraceIdSource } from "../../../src/observability/logs/index.ts";
import { collector } from "./collect.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("log context", () => {
  afterEach(() => setTraceIdSource(undefined));

  it("adds request and trace ids across awaits, and nests", async () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null });
    await runWithLogContext({ requestId: "r-1" }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.info("in request");
      await runWithLogContext({ traceId: TRACE, spanId: SPAN }, async () => log.info("in span"));
    });
    log.info("outside");
    const [a, b, c] = [out.at(0), out.at(1), out.at(2)];
    expect(a).toMatchObject({ requestId: "r-1", msg: "in request" });
    expect(b).toMatchObject({ requestId: "r-1", trace_id: TRACE, span_id: SPAN });
    expect(Object.keys(c)).toEqual(["level", "time", "msg"]);
    expect(currentLogContext()).toBeUndefined();
  });

  it("takes trace ids from a trace source when none was given, ignoring malformed ones", () => {
    let ids: { traceId: string; spanId: string } | undefined = { traceId: TRACE, spanId: SPAN };
    setTraceIdSource(() => ids);
    expect(currentLogContext()).toEqual({ trace_id: TRACE, span_id: SPAN });
    ids = { traceId: "not-hex", spanId: "x" };
    expect(currentLogContext()).toBeUndefined();
    ids = undefined;
    expect(currentLogContext()).toBeUndefined();
  });

  it("can be left out of the lines", () => {
    const out = collector();
    const log = createLogger({ destination: out, base: null, context: false });
    runWithLogContext({ requestId: "r-2" }, () => log.info("x"));
    expect(out.at(0).requestId).toBeUndefined();
  });
});
