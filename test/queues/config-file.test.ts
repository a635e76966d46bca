/**
 * What a wrangler config's `queues.consumers` settings become: keys Hearth cannot apply are warned
 * about, and `max_concurrency: null` (Cloudflare's automatic scaling) is a fixed 1 here.
 */
import { describe, expect, it } from "vitest";
import { consumerSettings } from "../../src/queues/consumer-config.ts";
import { loadJson, useProjectDirs } from "../config/fixture.ts";

const project = useProjectDirs();

describe("queues.consumers in the config file", () => {
  it("warns that visibility_timeout_ms is ignored, naming the key", () => {
    const config = loadJson(project(), { queues: { consumers: [{ queue: "jobs" }, { queue: "other", visibility_timeout_ms: 30_000 }] } });
    expect(config.queueConsumers.map((consumer) => consumer.queue)).toEqual(["jobs", "other"]);
    expect(config.warnings).toEqual([
      "wrangler.jsonc: queues.consumers[1].visibility_timeout_ms is not supported: it applies to pull consumers, which Hearth does not serve (ignored)",
    ]);
  });

  it("reads max_concurrency: null as the default, one batch at a time", () => {
    const config = loadJson(project(), { queues: { consumers: [{ queue: "jobs", max_concurrency: null }] } });
    expect(config.warnings).toEqual([]);
    expect(consumerSettings(config.queueConsumers).map((settings) => settings.maxConcurrency)).toEqual([1]);
  });
});
