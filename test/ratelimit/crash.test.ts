import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openRateLimitStore, RateLimiter } from "../../src/ratelimit/index.ts";
import { killChildren, startChild } from "../support/child.ts";
import { outcomes, START, tempDir, virtualClock } from "./setup.ts";

afterEach(killChildren);

describe("rate limit counts across a crash", () => {
  it("keeps counts written in the background when the process is killed with SIGKILL", async () => {
    const path = join(tempDir(), "ratelimit.sqlite");
    const child = await startChild("test/ratelimit/fixtures/counter.ts", [path, String(START), "3"]);
    expect(await child.nextLine(/^COUNTED$/, 20_000), child.stderr()).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;
    const clock = virtualClock(START + 1_000);
    const limiter = new RateLimiter(openRateLimitStore(path, { clock }), { namespaceId: "1", limit: 5, period: 60 });
    expect(await outcomes((o) => limiter.limit(o), "k", 3)).toBe("++-");
  });
});
