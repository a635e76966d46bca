/**
 * The control for conformance.test.ts: the same fixture and suite on the plain SDK (no Hearth). A
 * scenario failing here fails for the SDK or the suite; one failing only under Hearth is Hearth's.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, it } from "vitest";
import { expectBaseline, runConformance } from "./conformance-runner.ts";
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
    expectBaseline("MCP conformance (plain SDK)", report);
  });
});
