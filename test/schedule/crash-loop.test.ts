import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { TS_HOOKS } from "../support/child.ts";
import { tempDir } from "../support/harness.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-loop-child.ts", import.meta.url));

interface Child {
  url: Promise<string>;
  exited: Promise<NodeJS.Signals | number | null>;
  kill(): void;
}

function start(dataDir: string): Child {
  const proc = spawn(process.execPath, ["--import", TS_HOOKS, CHILD, dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = new Promise<string>((resolve, reject) => {
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    proc.on("exit", () => reject(new Error(`child exited before READY: ${out}`)));
  });
  url.catch(() => {});
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? code)));
  return { url, exited, kill: () => proc.kill("SIGKILL") };
}

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

interface Status {
  queue: Array<{ id: string; tripped?: { crashes: number } }>;
  failures: Array<{ taskId: string; error: string }>;
}

describe("crash-loop breaker", () => {
  it("stops re-running a task that keeps killing the process, keeps it visible, and can reset it", async () => {
    const dir = tempDir();
    try {
      let child = start(dir.path);
      children.push(child);
      const armed = (await (await fetch(`${await child.url}/agents/bomb/b/arm`, { method: "POST" })).json()) as { id: string };
      expect(await child.exited).toBe("SIGKILL"); // the callback killed the process
      // Each restart wakes the agent for its queue item, which kills the process again…
      let crashes = 1;
      for (;;) {
        child = start(dir.path);
        children.push(child);
        await child.url.catch(() => {});
        const outcome = await Promise.race([child.exited, new Promise((resolve) => setTimeout(() => resolve("alive"), 1500))]);
        if (outcome === "alive") break;
        expect(outcome).toBe("SIGKILL");
        crashes++;
        expect(crashes).toBeLessThan(10);
      }
      // …until crashLoopLimit (3) runs in a row never finished: then it is stopped, not run.
      expect(crashes).toBe(3);
      const url = await child.url;
      const status = (await (await fetch(`${url}/agents/bomb/b/status`)).json()) as Status;
      expect(status.queue).toEqual([expect.objectContaining({ id: armed.id, tripped: expect.objectContaining({ crashes: 3 }) as unknown })]);
      expect(status.failures[0]).toMatchObject({ taskId: armed.id, error: expect.stringMatching(/crash-loop breaker/) as string });
      // Reset: it runs again (and, being a bomb, kills the process once more).
      await fetch(`${url}/agents/bomb/b/reset?id=${armed.id}`, { method: "POST" }).catch(() => {});
      expect(await child.exited).toBe("SIGKILL");
    } finally {
      dir.remove();
    }
  }, 60_000);
});
