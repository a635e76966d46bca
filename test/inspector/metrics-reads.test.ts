/**
 * The inspector reads metrics without disturbing Prometheus: its reads do not start a new event-loop
 * interval; label values come back as written; "today" totals start at local midnight; the live
 * stream's class and agent filters apply to spans.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsHistory, parseExposition } from "../../src/inspector/metrics-history.ts";
import { MetricsRegistry } from "../../src/observability/metrics/index.ts";
import { SpanStore } from "../../src/observability/traces/store.ts";
import { startFixture, type Fixture } from "./fixture.ts";

let fixture: Fixture | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  vi.useRealTimers();
  await fixture?.close();
  fixture = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("parseExposition", () => {
  it("unescapes label values in one pass: a backslash before n stays a backslash", () => {
    const [series] = parseExposition('m{path="C:\\\\new\\\\dir",quote="say \\"hi\\"",lines="a\\nb"} 1\n');
    expect(series!.labels).toEqual({ path: "C:\\new\\dir", quote: 'say "hi"', lines: "a\nb" });
  });
});

describe("the inspector's metric reads", () => {
  it("are not scrapes: what resets at each Prometheus scrape (the event-loop delay) is left to the next one", () => {
    const registry = new MetricsRegistry();
    let interval = 0; // a value covering "since the previous scrape", as the event-loop delay does
    let scrapes = 0;
    registry.gauge({ name: "app_since_scrape", help: "Work since the previous scrape.", collect: (gauge) => gauge.set(undefined, interval) });
    registry.afterScrape(() => {
      scrapes++;
      interval = 0;
    });
    const history = new MetricsHistory(registry, 3_600_000);
    cleanups.push(() => history.close());
    interval = 7;
    history.sample(); // the inspector's 10-s sample
    expect(history.current().find((one) => one.name === "app_since_scrape")!.value).toBe(7); // the overview's read
    expect(scrapes).toBe(0);
    expect(registry.expose()).toContain("app_since_scrape 7");
    expect(scrapes).toBe(1);
    expect(registry.expose()).toContain("app_since_scrape 0");
  });

  it("count today's totals from local midnight", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let tokens = 100;
    const source = { expose: () => `hearth_gen_ai_tokens_total{model="m",class="C",type="input"} ${tokens}\n` };
    vi.setSystemTime(new Date(2030, 0, 1, 23, 59, 50));
    const history = new MetricsHistory(source, 3_600_000);
    cleanups.push(() => history.close());
    const today = () => history.sinceStartOfDay(history.current())[0]!.value;
    expect(today()).toBe(100); // started today: everything so far is today's
    tokens = 130;
    vi.setSystemTime(new Date(2030, 0, 2, 0, 0, 5));
    history.sample();
    expect(today()).toBe(30);
    tokens = 135;
    expect(today()).toBe(35);
  });
});

describe("the live stream's filters", () => {
  it("keep only the spans of the class and agent asked for", async () => {
    const spanStore = new SpanStore();
    cleanups.push(() => spanStore.close());
    const f = (fixture = await startFixture({ spanStore }));
    const abort = new AbortController();
    const response = await fetch(new URL("/api/stream?topics=spans&class=Notebook&agent=ada", f.inspector.url), {
      headers: { authorization: `Bearer ${f.inspector.token}` },
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    let text = "";
    const reading = (async () => {
      while (!text.includes("wanted")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    const span = (name: string, className: string, agent: string, i: number) => ({
      traceId: "d".repeat(32),
      spanId: i.toString(16).padStart(16, "0"),
      name,
      kind: "internal" as const,
      startedAt: 1,
      endedAt: 2,
      status: { code: 0 as const },
      attributes: { "hearth.agent.class": className, "hearth.agent.name": agent },
      events: [],
      links: [],
    });
    for (let i = 0; !text.includes("wanted") && i < 200; i += 4) {
      spanStore.add(span("other class", "Ledger", "ada", i));
      spanStore.add(span("other agent", "Notebook", "bob", i + 1));
      // A model call names its agent the GenAI way only.
      spanStore.add({ ...span("other agent's model call", "", "", i + 2), attributes: { "gen_ai.agent.name": "Notebook", "gen_ai.agent.id": "bob" } });
      spanStore.add(span("wanted", "Notebook", "ada", i + 3));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await reading;
    abort.abort();
    expect(text).toContain('"name":"wanted"');
    expect(text).not.toContain("other class");
    expect(text).not.toContain("other agent");
    expect(text).not.toContain("model call");
  });
});
