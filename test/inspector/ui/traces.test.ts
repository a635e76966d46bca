/**
 * Following an error to its trace in the inspector UI (headless Chromium): an agent's RPC fails
 * with tracing on; the traces view filtered to errors leads to the trace, whose failed span shows
 * the error and links to the agent. Needs Chromium at /usr/bin/chromium; skipped without it.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { disableTracing, enableTracing, type Tracing } from "../../../src/observability/traces/index.ts";
import type { TraceQuery } from "../../../src/observability/traces/trace-query.ts";
import { browserSuite, hasChromium } from "../../support/browser.ts";
import { InspectorUi, WAIT } from "./harness.ts";

describe.skipIf(!hasChromium)(browserSuite("inspector UI traces in headless Chromium"), { timeout: 90_000 }, () => {
  const ui = new InspectorUi();
  let tracing: Tracing;

  beforeAll(async () => {
    tracing = enableTracing({ otlp: false, aiSdk: false });
    const store = tracing.store;
    await ui.start({
      spans: {
        list: (query) => {
          const page = store.listTraces(query as TraceQuery);
          return { items: page.items as unknown as Array<Record<string, unknown>>, next: page.cursor ?? null };
        },
        get: (traceId) => store.getTrace(traceId) as { traceId: string; spans: unknown[] } | undefined,
        subscribe: (listener) => store.subscribe((span) => listener(span as unknown as Record<string, unknown>)),
      },
    });
  }, 120_000);
  afterAll(async () => {
    await ui.close();
    await disableTracing();
  });

  test("follow a trace from an error", async () => {
    const client = await ui.t!.connect("Notes", "frank");
    await expect(client.call("explode")).rejects.toThrow("the notes exploded");
    await expect.poll(() => tracing.store.listTraces({ error: true }).items.length, { timeout: WAIT }).toBeGreaterThan(0);

    const page = await ui.open("/traces");
    await page.getByLabel("Errors only").check();
    await page.getByRole("button", { name: "Apply filters" }).click();
    expect(await page.evaluate(() => location.hash)).toBe("#/traces?error=true");
    await page.getByRole("link", { name: /\(error\)$/ }).first().click();

    // The failed span is selected: its status carries the error, and it links to the agent.
    const detail = page.getByLabel("Selected span");
    await detail.getByText("error: the notes exploded", { exact: true }).waitFor();
    await ui.screenshot(page, "trace-error");
    await page.getByRole("link", { name: "Waterfall" }).click();
    await page.getByRole("list", { name: "Spans on a time axis" }).waitFor();
    expect(await ui.seriousViolations(page)).toEqual([]);
    await ui.screenshot(page, "trace-waterfall");
    await detail.getByRole("link", { name: "Notes/frank" }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#/agents/Notes/frank");
    expect(ui.problems).toEqual([]);
  });
});
