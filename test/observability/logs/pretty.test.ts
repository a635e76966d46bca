import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { colorsWanted, createLogger, formatPretty, prettyLine } from "../../../src/observability/logs/index.ts";

const ESC = "\u001b[";
const time = new Date(2026, 11, 3, 9, 5, 7, 42).getTime();

describe("pretty output for hearth dev", () => {
  let saved: { NO_COLOR?: string; FORCE_COLOR?: string };
  beforeEach(() => {
    saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
  });
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it("writes time, level, Class/name, msg and the other fields on one line", () => {
    const line = formatPretty({ level: 40, time, pid: 1, hostname: "h", agent: "Counter", name: "a", msg: "slow", ms: 250, tags: ["x"] }, { colors: false });
    expect(line).toBe(`09:05:07.042 WARN  Counter/a slow ms=250 tags=[ 'x' ]`);
  });

  it("has no colour codes when NO_COLOR is set, even on a terminal or with FORCE_COLOR", () => {
    process.env.NO_COLOR = "1";
    process.env.FORCE_COLOR = "1";
    expect(colorsWanted({ isTTY: true })).toBe(false);
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (l: string) => lines.push(l) }, pretty: { stream: { isTTY: true } }, now: () => time });
    log.error({ n: 1 }, "boom");
    expect(lines[0]).not.toContain(ESC);
    expect(lines[0]).toBe("09:05:07.042 ERROR boom n=1\n");
  });

  it("colours by level when wanted", () => {
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    expect(colorsWanted({ isTTY: true })).toBe(true);
    expect(colorsWanted({ isTTY: false })).toBe(false);
    process.env.FORCE_COLOR = "1";
    expect(colorsWanted({ isTTY: false })).toBe(true);
    const line = formatPretty({ level: 50, time, msg: "bad" }, { colors: true });
    expect(line).toContain(`${ESC}31mERROR`);
  });

  it("shows an error's message and its stack on indented lines", () => {
    const error = new Error("nope");
    const line = formatPretty({ level: 50, time, err: { type: "Error", message: "nope", stack: error.stack } }, { colors: false });
    const [first, second] = line.split("\n");
    expect(first).toBe("09:05:07.042 ERROR nope");
    expect(second).toBe("    Error: nope");
  });

  it("turns JSON lines into pretty ones and leaves other text alone", () => {
    expect(prettyLine(JSON.stringify({ level: 30, time, msg: "hi", hostname: "h" }), { colors: false })).toBe("09:05:07.042 INFO  hi");
    expect(prettyLine("plain text", { colors: false })).toBe("plain text");
    expect(prettyLine('{"no":"level"}', { colors: false })).toBe('{"no":"level"}');
  });
});
