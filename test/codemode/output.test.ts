import { describe, expect, it } from "vitest";
import { MIN_LOG_LINE_CHARS } from "../../src/codemode/limits.ts";
import { shapeOutput } from "../../src/codemode/output.ts";

describe("shapeOutput", () => {
  it("cuts an error's text to the result's size, as it cuts a result", () => {
    const shaped = shapeOutput({ error: { name: "E".repeat(1_000), message: "m".repeat(50_000) }, logs: [] } as never, 2_000, 1_000);
    expect(shaped.error!.name).toHaveLength(256);
    expect(shaped.error!.message.length).toBeLessThan(2_200);
    expect(shaped.error!.message.startsWith("m".repeat(2_000))).toBe(true);
  });

  it("bounds a flood of empty console lines by maxLogChars, as it bounds text", () => {
    const logs = Array.from({ length: 100_000 }, () => ({ level: "log" as const, message: "" }));
    const shaped = shapeOutput({ logs }, 2_000, 8_000);
    // Each line counts MIN_LOG_LINE_CHARS at least; then the truncation marker.
    expect(shaped.logs).toHaveLength(8_000 / MIN_LOG_LINE_CHARS + 1);
    expect(shaped.logs.at(-1)).toMatch(/^\[truncated: /);
    // Lines of text within the bound are all kept.
    expect(shapeOutput({ logs: [{ level: "log", message: "a" }, { level: "warn", message: "" }] }, 2_000, 8_000).logs).toEqual(["a", "[warn] "]);
  });
});
