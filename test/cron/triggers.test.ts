/**
 * Cron triggers on a VirtualClock: runs at each scheduled time, the controller, a missed run once at
 * start, failures and the one retry, noRetry, fireNow for the dev route, validation at construction.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ScheduledController } from "../../src/cron/controller.ts";
import { CRON_RETRY_DELAY_MS, CronTriggers } from "../../src/cron/triggers.ts";
import { VirtualClock } from "../../src/time/clock.ts";

const START = Date.parse("2025-01-01T10:00:30Z");
const at = (hhmm: string) => Date.parse(`2025-01-01T${hhmm}:00Z`);

let dir: string;
let path: string;
let clock: VirtualClock;
let runs: { cron: string; scheduledTime: number; firedAt: number }[];
let triggers: CronTriggers[];
let handler: (controller: ScheduledController) => unknown;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-cron-"));
  path = join(dir, "data", "crons.sqlite");
  clock = new VirtualClock({ start: START });
  runs = [];
  triggers = [];
  handler = () => {};
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const t of triggers) await t.close();
  clock.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function make(crons: string[]): CronTriggers {
  const t = new CronTriggers({
    path,
    clock,
    crons,
    fire: async (controller) => {
      runs.push({ cron: controller.cron, scheduledTime: controller.scheduledTime, firedAt: clock.now() });
      await handler(controller);
    },
  });
  triggers.push(t);
  return t;
}

/** Closes `t` (as a process stopping would) and forgets it. */
async function stop(t: CronTriggers): Promise<void> {
  await t.close();
  triggers.splice(triggers.indexOf(t), 1);
}

describe("CronTriggers", () => {
  it("runs each trigger at its scheduled times with a ScheduledController", async () => {
    let seen: ScheduledController | undefined;
    handler = (controller) => {
      seen ??= controller;
    };
    make(["*/5 * * * *", "0 11 * * *"]).start();
    await clock.advanceTo(at("11:00"));
    // Two runs due at 11:00 run in no particular order.
    expect(runs.map((r) => `${r.cron} ${new Date(r.scheduledTime).toISOString().slice(11, 16)}`).sort()).toEqual([
      "*/5 * * * * 10:05",
      "*/5 * * * * 10:10",
      "*/5 * * * * 10:15",
      "*/5 * * * * 10:20",
      "*/5 * * * * 10:25",
      "*/5 * * * * 10:30",
      "*/5 * * * * 10:35",
      "*/5 * * * * 10:40",
      "*/5 * * * * 10:45",
      "*/5 * * * * 10:50",
      "*/5 * * * * 10:55",
      "*/5 * * * * 11:00",
      "0 11 * * * 11:00",
    ]);
    expect(runs.every((r) => r.firedAt === r.scheduledTime)).toBe(true);
    expect(seen).toMatchObject({ scheduledTime: at("10:05"), cron: "*/5 * * * *", type: "scheduled" });
    expect(typeof seen!.noRetry).toBe("function");
  });

  it("refuses an invalid expression at construction, naming it, before opening anything", () => {
    expect(() => make(["*/5 * * * *", "0 0 * * 0"])).toThrow('Invalid cron trigger "0 0 * * 0": day-of-week runs 1-7 (1 = Sunday, as in Quartz), got 0');
    expect(existsSync(path)).toBe(false);
  });

  it("does not run past times the first time it sees a trigger", async () => {
    make(["*/5 * * * *"]).start();
    await clock.settle();
    expect(runs).toEqual([]);
  });

  it("runs a missed run once at start (the latest one), then goes on", async () => {
    const first = make(["*/5 * * * *"]);
    first.start();
    await clock.advanceTo(at("10:05"));
    expect(runs.map((r) => r.scheduledTime)).toEqual([at("10:05")]);
    await stop(first);
    await clock.advanceTo(Date.parse("2025-01-01T10:22:10Z")); // down: 10:10, 10:15 and 10:20 missed
    const second = make(["*/5 * * * *"]);
    second.start();
    await second.idle();
    expect(runs.map((r) => r.scheduledTime)).toEqual([at("10:05"), at("10:20")]);
    expect(runs[1]!.firedAt).toBe(Date.parse("2025-01-01T10:22:10Z"));
    await clock.advanceTo(at("10:30"));
    expect(runs.map((r) => r.scheduledTime)).toEqual([at("10:05"), at("10:20"), at("10:25"), at("10:30")]);
    // Nothing was missed this time: a restart runs nothing.
    await stop(second);
    const third = make(["*/5 * * * *"]);
    third.start();
    await third.idle();
    expect(runs).toHaveLength(4);
  });

  it("forgets triggers removed from the config: one added back starts afresh", async () => {
    const first = make(["*/5 * * * *"]);
    first.start();
    await clock.advanceTo(at("10:05"));
    await stop(first);
    make(["0 * * * *"]).start();
    await stop(triggers[0]!);
    await clock.advanceTo(at("10:30"));
    const back = make(["*/5 * * * *"]);
    back.start();
    await back.idle();
    expect(runs).toHaveLength(1);
  });

  it("logs a failed run and retries it once, a minute later, with the same scheduled time", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    handler = () => {
      throw new Error("down");
    };
    make(["0 * * * *"]).start();
    await clock.advanceTo(at("11:00"));
    await clock.advance(CRON_RETRY_DELAY_MS);
    await clock.advance("10 minutes");
    expect(runs).toEqual([
      { cron: "0 * * * *", scheduledTime: at("11:00"), firedAt: at("11:00") },
      { cron: "0 * * * *", scheduledTime: at("11:00"), firedAt: at("11:01") },
    ]);
    expect(error.mock.calls.map((call) => call[0])).toEqual([
      '[hearth] cron "0 * * * *" run scheduled at 2025-01-01T11:00:00.000Z failed; retrying once in 60 s:',
      '[hearth] cron "0 * * * *" run scheduled at 2025-01-01T11:00:00.000Z failed; not retried:',
    ]);
    expect(error.mock.calls[0]![1]).toEqual(new Error("down"));
  });

  it("does not retry a run that called noRetry()", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    handler = (controller) => {
      controller.noRetry();
      throw new Error("permanent");
    };
    make(["0 * * * *"]).start();
    await clock.advanceTo(at("11:30"));
    expect(runs).toHaveLength(1);
    expect(error.mock.calls[0]![0]).toBe('[hearth] cron "0 * * * *" run scheduled at 2025-01-01T11:00:00.000Z failed; not retried (noRetry() was called):');
  });

  it("does not retry when the trigger's next run comes first", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    handler = () => {
      throw new Error("down");
    };
    make(["* * * * *"]).start();
    await clock.advanceTo(at("10:03"));
    expect(runs.map((r) => r.scheduledTime)).toEqual([at("10:01"), at("10:02"), at("10:03")]);
  });

  it("records a failed run: it is not run again at the next start", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    handler = (controller) => {
      controller.noRetry();
      throw new Error("down");
    };
    const first = make(["0 11 * * *"]);
    first.start();
    await clock.advanceTo(at("11:00"));
    await stop(first);
    const second = make(["0 11 * * *"]);
    second.start();
    await second.idle();
    expect(runs).toHaveLength(1);
  });

  it("fireNow runs the handler at once for any cron, unrecorded, and rejects when it fails", async () => {
    const t = make(["0 11 * * *"]);
    await t.fireNow("0 11 * * *");
    await t.fireNow("*/3 * * * *", at("10:42"));
    expect(runs).toEqual([
      { cron: "0 11 * * *", scheduledTime: START, firedAt: START },
      { cron: "*/3 * * * *", scheduledTime: at("10:42"), firedAt: START },
    ]);
    handler = () => {
      throw new Error("handler failed");
    };
    await expect(t.fireNow("")).rejects.toThrow("handler failed");
    // Not recorded: starting later still treats the trigger as new.
    t.start();
    await t.idle();
    expect(runs).toHaveLength(3);
  });

  it("tells the next run of a trigger, or of any valid expression", () => {
    const t = make(["0 17 * * 1"]);
    expect(t.next("0 17 * * 1")).toEqual(new Date("2025-01-05T17:00:00Z"));
    expect(t.next("59 23 LW * *")).toEqual(new Date("2025-01-31T23:59:00Z"));
    expect(() => t.next("nope")).toThrow('Invalid cron trigger "nope": expected 5 fields');
  });

  it("refuses a second opening of the same file", () => {
    make(["0 * * * *"]);
    expect(() => make(["0 * * * *"])).toThrow(`${path} is locked by another process`);
  });

  it("works with durability strict", async () => {
    const t = new CronTriggers({ path, clock, crons: ["0 * * * *"], fire: async () => {}, durability: "strict" });
    triggers.push(t);
    t.start();
    await clock.advanceTo(at("11:00"));
    expect(t.next("0 * * * *")).toEqual(new Date(at("12:00")));
  });

  it("runs a trigger listed twice once", async () => {
    const t = make(["0 * * * *", "0 * * * *"]);
    expect(t.crons).toEqual(["0 * * * *"]);
    t.start();
    await clock.advanceTo(at("11:00"));
    expect(runs).toHaveLength(1);
  });

  it("waits for a run in progress on close, and records it", async () => {
    let release!: () => void;
    handler = () => new Promise<void>((resolve) => (release = resolve));
    const first = make(["0 11 * * *"]);
    first.start();
    void clock.advanceTo(at("11:00"));
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 10_000 });
    let closed = false;
    const closing = first.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    triggers.splice(triggers.indexOf(first), 1);
    const second = make(["0 11 * * *"]);
    second.start();
    await second.idle();
    expect(runs).toHaveLength(1);
  });
});
