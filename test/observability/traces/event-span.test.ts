/**
 * An agent event's outermost span rides on the event instead of a context frame: it is the active
 * span for all the event's own work, awaits included, and only for it — before it starts and after it
 * ends the event runs in the context it was sent from; a second event span in the same event nests
 * under the first or, running beside it, takes a frame of its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Mailbox } from "../../../src/host/mailbox.ts";
import { currentTraceparent, traceAgentEvent } from "../../../src/observability/traces/hooks.ts";
import { disableTracing, enableTracing, withSpan, type SpanRecord, type Tracing } from "../../../src/observability/traces/index.ts";

let tracing: Tracing | undefined;
afterEach(async () => {
  await disableTracing();
  tracing = undefined;
});

const mailbox = () => new Mailbox({ settle: () => undefined, yielded: () => {}, idle: () => {} });
/** The active span's id, as Hearth's hooks see it (`00-{trace}-{span}-01`). */
const activeSpanId = () => currentTraceparent()?.split("-")[2];
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const spans = () => tracing!.store.listTraces().items.flatMap((item) => tracing!.store.getTrace(item.traceId)!.spans);
const named = (name: string): SpanRecord => spans().find((span) => span.name === name)!;

describe("the outermost span of an agent event", () => {
  it("is active across the event's awaits, and the event runs in its sender's context before and after it", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const seen: Record<string, string | undefined> = {};
    await withSpan("sender", {}, async () => {
      const sender = activeSpanId();
      await mailbox().deliver(async () => {
        seen.before = activeSpanId();
        await traceAgentEvent("Probe", "p", "rpc", "work", async () => {
          seen.start = activeSpanId();
          await turn();
          seen.afterAwait = activeSpanId();
          await withSpan("child", {}, async () => {
            await turn();
            seen.inChild = activeSpanId();
          });
          seen.afterChild = activeSpanId();
        });
        seen.after = activeSpanId();
        withSpan("after the event span", {}, () => {});
      });
      expect(seen.before).toBe(sender);
      expect(seen.after).toBe(sender);
    });
    const event = named("rpc work");
    expect([seen.start, seen.afterAwait, seen.afterChild]).toEqual([event.spanId, event.spanId, event.spanId]);
    expect(seen.inChild).toBe(named("child").spanId);
    expect(named("child").parentSpanId).toBe(event.spanId);
    expect(event.parentSpanId).toBe(named("sender").spanId);
    expect(named("after the event span").parentSpanId).toBe(named("sender").spanId);
  });

  it("nests a second one under the first, and gives ones that run side by side a frame each", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const seen: Record<string, string | undefined> = {};
    await mailbox().deliver(() =>
      traceAgentEvent("Probe", "p", "onMessage", "outer", async () => {
        await traceAgentEvent("Probe", "p", "rpc", "inner", async () => {
          await turn();
          seen.inner = activeSpanId();
        });
        seen.outerAgain = activeSpanId();
        await Promise.all(
          ["a", "b"].map((label) =>
            traceAgentEvent("Probe", "p", "rpc", label, async () => {
              await turn();
              seen[label] = activeSpanId();
            }),
          ),
        );
        seen.outerLast = activeSpanId();
      }),
    );
    const outer = named("onMessage outer");
    expect(named("rpc inner").parentSpanId).toBe(outer.spanId);
    expect(seen.inner).toBe(named("rpc inner").spanId);
    expect([seen.outerAgain, seen.outerLast]).toEqual([outer.spanId, outer.spanId]);
    for (const label of ["a", "b"]) {
      expect(seen[label]).toBe(named(`rpc ${label}`).spanId);
      expect(named(`rpc ${label}`).parentSpanId).toBe(outer.spanId);
    }
  });

  it("ends failed when its work throws or rejects, and leaves the event's context as it was", async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const seen: Record<string, string | undefined> = {};
    await mailbox().deliver(async () => {
      expect(() => traceAgentEvent("Probe", "p", "rpc", "throws", () => { throw new Error("sync"); })).toThrow("sync");
      await expect(traceAgentEvent("Probe", "p", "rpc", "rejects", async () => { await turn(); throw new Error("async"); })).rejects.toThrow("async");
      seen.after = activeSpanId();
    });
    expect(seen.after).toBeUndefined();
    expect(named("rpc throws").status.code).toBe(2);
    expect(named("rpc rejects").status.code).toBe(2);
  });
});
