/**
 * The control for conformance.test.ts: the same fixture and suite on the plain SDK (no Hearth). A
 * scenario failing here fails for the SDK or the suite; one failing only under Hearth is Hearth's.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeReport, runConformance } from "./conformance-runner.ts";
import { startPlainEverything } from "./fixtures/everything-plain.ts";

const BASELINE = fileURLToPath(new URL("./conformance-baseline.plain.yml", import.meta.url));

describe("MCP conformance suite on the plain SDK", () => {
  let server: Awaited<ReturnType<typeof startPlainEverything>>;

  beforeAll(async () => {
    server = await startPlainEverything();
  });

  afterAll(async () => {
    await server?.close();
  });

  it("passes every server scenario but the plain baseline's", { timeout: 180_000 }, async () => {
    const report = await runConformance(server.url, BASELINE);
    const summary = describeReport("MCP conformance (plain SDK)", report);
    console.log(summary);
    expect({ unexpected: report.unexpected, stale: report.stale, unknown: report.unknown }, summary).toEqual({
      unexpected: [],
      stale: [],
      unknown: [],
    });
    expect(report.exitCode, report.output.slice(-4000)).toBe(0);
  });
});
