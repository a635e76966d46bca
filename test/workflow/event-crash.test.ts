/**
 * An event sent just before a crash: the instance must go on at the next boot, not sleep until the
 * timeout of its `waitForEvent` (a day here).
 */
import { fileURLToPath } from "node:url";
import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { startChild } from "./fixtures/start-child.ts";
import { tempDir } from "../support/harness.ts";

const CHILD = fileURLToPath(new URL("./fixtures/event-crash-child.ts", import.meta.url));

const start = (dataDir: string) => startChild(CHILD, dataDir);

describe("a crash right after sendEvent", () => {
  it("resumes the waiting instance with its event at the next boot", async () => {
    const dir = tempDir();
    try {
      const first = start(dir.path);
      expect(await first.exited).toBe("SIGKILL");
      const second = start(dir.path);
      try {
        const url = await second.url;
        let status: { status: string } = { status: "unknown" };
        // Until it ends: with the event lost for the boot scan it would wait a day (the test's timeout fails it).
        while (!["complete", "errored"].includes(status.status)) {
          status = (await (await fetch(url)).json()) as { status: string };
          await turn();
        }
        expect(status).toEqual({ status: "complete", output: 'got {"ok":true}' });
      } finally {
        second.proc.kill("SIGKILL");
      }
    } finally {
      dir.remove();
    }
  }, 30_000);
});
