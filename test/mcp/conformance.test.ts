/**
 * The official MCP conformance suite, every server scenario, against an McpAgent served by Hearth on
 * loopback. Every scenario must pass except those listed in conformance-baseline.yml; a listed
 * scenario that passes is a stale entry and fails the test too.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startHarness, type Harness } from "../support/harness.ts";
import { expectBaseline, runConformance } from "./conformance-runner.ts";
import { Everything } from "./fixtures/everything-agent.ts";

const BASELINE = fileURLToPath(new URL("./conformance-baseline.yml", import.meta.url));

describe("MCP conformance suite", () => {
  let harness: Harness;

  beforeAll(async () => {
    const handler = Everything.serve("/mcp");
    harness = await startHarness({ Everything }, { fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it("passes every server scenario but the baseline's", { timeout: 180_000 }, async () => {
    const report = await runConformance(`${harness.url}/mcp`, BASELINE);
    expectBaseline("MCP conformance", report);
  });
});
