/**
 * The inspector's Prometheus-text view (`GET /metrics` on the inspector) is a read, not a scrape: it
 * must not start a new interval for values that cover "since the previous scrape" (the event-loop
 * delay), which the real Prometheus scrape would then miss.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MetricsRegistry } from "../../src/observability/metrics/index.ts";
import { startFixture, type Fixture } from "./fixture.ts";

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe("the inspector's GET /metrics", () => {
  it("reads the exposition with scrape: false, leaving the scrape interval to Prometheus", async () => {
    const registry = new MetricsRegistry();
    let sinceScrape = 0; // as the event-loop delay's max: what happened since the previous scrape
    let scrapes = 0;
    registry.gauge({ name: "app_since_scrape", help: "Worst stall since the previous scrape.", collect: (gauge) => gauge.set(undefined, sinceScrape) });
    registry.afterScrape(() => {
      scrapes++;
      sinceScrape = 0;
    });
    const f = (fixture = await startFixture({ metrics: registry }));
    sinceScrape = 0.4;
    const first = await f.api("/metrics");
    expect(first.status).toBe(200);
    expect(first.text).toContain("app_since_scrape 0.4");
    expect(scrapes).toBe(0);
    // Prometheus's own scrape (the host's /metrics) still sees the stall, then starts the next interval.
    expect(registry.expose()).toContain("app_since_scrape 0.4");
    expect(scrapes).toBe(1);
    expect((await f.api("/metrics")).text).toContain("app_since_scrape 0\n");
  });
});
