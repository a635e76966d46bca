import { describe, expect, it } from "vitest";
import { waitAtMost } from "../../src/time/wait-at-most.ts";

describe("waitAtMost", () => {
  it("returns when the work settles, long before the bound", async () => {
    const started = performance.now();
    await waitAtMost(new Promise((resolve) => setTimeout(resolve, 10)), 60_000);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it("returns at the bound when the work never settles", async () => {
    let settled = false;
    await waitAtMost(new Promise(() => {}), 20).then(() => (settled = true));
    expect(settled).toBe(true);
  });

  it("throws the work's rejection", async () => {
    await expect(waitAtMost(Promise.reject(new Error("boom")), 60_000)).rejects.toThrow("boom");
  });
});
