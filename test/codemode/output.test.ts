import { describe, expect, it } from "vitest";
import { shapeOutput } from "../../src/codemode/output.ts";

describe("shapeOutput", () => {
  it("cuts an error's text to the result's size, as it cuts a result", () => {
    const shaped = shapeOutput({ error: { name: "E".repeat(1_000), message: "m".repeat(50_000) }, logs: [] } as never, 2_000, 1_000);
    expect(shaped.error!.name).toHaveLength(256);
    expect(shaped.error!.message.length).toBeLessThan(2_200);
    expect(shaped.error!.message.startsWith("m".repeat(2_000))).toBe(true);
  });
});
