import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { openRateLimitStore, RateLimiter } from "../../src/ratelimit/index.ts";
import { freshStore, outcomes, START } from "./setup.ts";

describe("RateLimiter.limit", () => {
  it("allows `limit` calls per key and window, then refuses", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1001", limit: 3, period: 60 });
    expect(await limiter.limit({ key: "alice" })).toEqual({ success: true });
    expect(await outcomes((o) => limiter.limit(o), "alice", 4)).toBe("++--");
    expect(await outcomes((o) => limiter.limit(o), "bob", 4)).toBe("+++-");
  });

  it("uses fixed windows aligned to the wall clock, not sliding ones", async () => {
    const { store, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 2, period: 10 });
    await clock.advance("9 seconds"); // 9 s into the window [0 s, 10 s)
    expect(await outcomes((o) => limiter.limit(o), "k", 3)).toBe("++-");
    await clock.advance("1 second"); // a new window starts at 10 s, one second after the calls
    expect(await outcomes((o) => limiter.limit(o), "k", 3)).toBe("++-");
    await clock.advance("9999 ms");
    expect(await outcomes((o) => limiter.limit(o), "k", 1)).toBe("-");
    await clock.advance("1 ms");
    expect(await outcomes((o) => limiter.limit(o), "k", 1)).toBe("+");
  });

  it("does not count refused calls", async () => {
    const { store, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 5, period: 60 });
    expect(await outcomes((o) => limiter.limit(o), "k", 100)).toBe("+++++" + "-".repeat(95));
    await clock.advance("1 minute");
    expect(await outcomes((o) => limiter.limit(o), "k", 6)).toBe("+++++-");
  });

  it("shares counts between limiters of one namespace id, whatever their limit", async () => {
    const { store } = freshStore();
    const strict = new RateLimiter(store, { namespaceId: "42", limit: 2, period: 60 });
    const lenient = new RateLimiter(store, { namespaceId: "42", limit: 4, period: 60 });
    const other = new RateLimiter(store, { namespaceId: "43", limit: 2, period: 60 });
    expect(await outcomes((o) => strict.limit(o), "k", 2)).toBe("++");
    expect(await outcomes((o) => strict.limit(o), "k", 1)).toBe("-");
    expect(await outcomes((o) => lenient.limit(o), "k", 3)).toBe("++-");
    expect(await outcomes((o) => other.limit(o), "k", 3)).toBe("++-");
  });

  it("counts a 10 s and a 60 s period of one namespace id apart", async () => {
    const { store } = freshStore();
    const ten = new RateLimiter(store, { namespaceId: "7", limit: 1, period: 10 });
    const sixty = new RateLimiter(store, { namespaceId: "7", limit: 1, period: 60 });
    expect(await outcomes((o) => ten.limit(o), "k", 2)).toBe("+-");
    expect(await outcomes((o) => sixty.limit(o), "k", 2)).toBe("+-");
  });

  it("is exact under many concurrent callers", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1000, period: 60 });
    const results = await Promise.all(Array.from({ length: 5000 }, () => limiter.limit({ key: "hot" })));
    expect(results.filter((r) => r.success)).toHaveLength(1000);
  });

  it("takes a missing key as the empty key, and per-call limit and period overrides", async () => {
    const { store } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    expect(await limiter.limit({})).toEqual({ success: true });
    expect(await limiter.limit({ key: "" })).toEqual({ success: false });
    expect(await limiter.limit({ key: "", limit: 2 })).toEqual({ success: true });
    expect(await limiter.limit({ key: "", period: 10 })).toEqual({ success: true });
    expect(await limiter.limit({ key: "", period: 10 })).toEqual({ success: false });
  });

  it("keeps counts across a restart within the window, and not into the next one", async () => {
    const { store, path, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "9", limit: 3, period: 60 });
    expect(await outcomes((o) => limiter.limit(o), "k", 2)).toBe("++");
    store.close();
    await clock.advance("30 seconds");
    const reopened = openRateLimitStore(path, { clock });
    const again = new RateLimiter(reopened, { namespaceId: "9", limit: 3, period: 60 });
    expect(await outcomes((o) => again.limit(o), "k", 2)).toBe("+-");
    reopened.close();
    await clock.advance("30 seconds");
    const next = new RateLimiter(openRateLimitStore(path, { clock }), { namespaceId: "9", limit: 3, period: 60 });
    expect(await outcomes((o) => next.limit(o), "k", 4)).toBe("+++-");
  });

  it("prunes windows that are over from the file", async () => {
    const { store, path, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 5, period: 10 });
    for (let i = 0; i < 50; i++) await limiter.limit({ key: `user:${i}` });
    store.flush();
    await clock.advance("10 seconds");
    await limiter.limit({ key: "user:0" });
    store.close();
    expect(rowCount(path)).toBe(1);
  });

  it("deletes, at open, the windows that ended while the store was closed", async () => {
    const { store, path, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 5, period: 60 });
    await limiter.limit({ key: "a" });
    await limiter.limit({ key: "b" });
    store.close();
    expect(rowCount(path)).toBe(2);
    await clock.advance("1 minute");
    openRateLimitStore(path, { clock }).close();
    expect(rowCount(path)).toBe(0);
  });

  it("writes every window of a batch that failed again at the next flush", async () => {
    const { store, path, clock } = freshStore();
    store.close();
    // A failure part way through a batch, after other windows were written: SQLite rolls the whole
    // transaction back, as it does on a full disk or an I/O error.
    const setup = new DatabaseSync(path);
    setup.exec(`CREATE TRIGGER fail_once BEFORE INSERT ON counters WHEN NEW.key = 'boom' AND NEW.count < 2
      BEGIN SELECT RAISE(ROLLBACK, 'disk full'); END`);
    setup.close();
    const reopened = openRateLimitStore(path, { clock, flushIntervalMs: 3_600_000 });
    const first = new RateLimiter(reopened, { namespaceId: "1", limit: 5, period: 60 });
    const second = new RateLimiter(reopened, { namespaceId: "2", limit: 5, period: 60 });
    await first.limit({ key: "a" });
    await second.limit({ key: "x" });
    reopened.flush();
    await clock.advance("1 minute");
    await first.limit({ key: "a" });
    await second.limit({ key: "boom" });
    expect(() => reopened.flush()).toThrow("disk full");
    await second.limit({ key: "boom" });
    reopened.flush();
    reopened.close();
    const window = Math.floor(clock.now() / 60_000);
    expect(rows(path)).toEqual([
      { namespace_id: "1", key: "a", window, count: 1 },
      { namespace_id: "2", key: "boom", window, count: 2 },
    ]);
  });

  it("starts from a clean window when the clock passes a window boundary between calls", async () => {
    const { store, clock } = freshStore();
    const limiter = new RateLimiter(store, { namespaceId: "1", limit: 1, period: 60 });
    await clock.advanceTo(START + 59_999);
    expect(await outcomes((o) => limiter.limit(o), "k", 2)).toBe("+-");
    await clock.advance("1 ms");
    expect(await outcomes((o) => limiter.limit(o), "k", 2)).toBe("+-");
  });
});

/** Rows in the counters table (the store must be closed: it holds the file locked while open). */
function rowCount(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("SELECT COUNT(*) AS n FROM counters").get()!.n);
  } finally {
    db.close();
  }
}

/** The counters table, in key order (the store must be closed). */
function rows(path: string): Array<{ namespace_id: string; key: string; window: number; count: number }> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare("SELECT namespace_id, key, window, count FROM counters ORDER BY namespace_id, key")
      .all()
      .map((row) => ({ namespace_id: String(row.namespace_id), key: String(row.key), window: Number(row.window), count: Number(row.count) }));
  } finally {
    db.close();
  }
}
