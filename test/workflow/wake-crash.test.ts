import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startChild } from "./fixtures/start-child.ts";
import { tempDir } from "../support/harness.ts";

const CHILD = fileURLToPath(new URL("./fixtures/wake-crash-child.ts", import.meta.url));

const start = (dataDir: string) => startChild(CHILD, dataDir);

describe("a crash in the turn a sleeping instance wakes", () => {
  it("does not leave the instance waiting with no timer", async () => {
    const dir = tempDir();
    try {
      const first = start(dir.path);
      expect(await first.exited).toBe("SIGKILL"); // killed by the step right after the wake
      const second = start(dir.path);
      try {
        const url = await second.url;
        let status: unknown;
        for (let i = 0; i < 100; i++) {
          status = await (await fetch(url)).json();
          if ((status as { status: string }).status === "complete") break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(status).toEqual({ status: "complete", output: "done" });
      } finally {
        second.proc.kill("SIGKILL");
      }
    } finally {
      dir.remove();
    }
  }, 30_000);
});
