/**
 * What `start()` and `approve()` acknowledged survives kill -9 the instant they return: the run (or
 * the decision) and what goes on with it are one commit, so the next process finishes the run by
 * itself instead of leaving it `running` or `waiting` for ever.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/ack-crash-child.ts", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Status {
  status: string;
  output: unknown;
  approvals: number;
}

async function status(url: string, id: string): Promise<Status> {
  return (await (await fetch(`${url}/agents/desk/d/status?id=${id}`)).json()) as Status;
}

async function until(url: string, id: string, done: (s: Status) => boolean, ms: number): Promise<Status> {
  const deadline = Date.now() + ms;
  let current = await status(url, id);
  while (!done(current) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    current = await status(url, id);
  }
  return current;
}

describe("a kill right after start() or approve() returned", () => {
  it("leaves runs that the next process finishes by itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-team-ack-crash-"));
    dirs.push(dir);
    const log = join(dir, "calls.log");
    writeFileSync(log, "");
    const args = [join(dir, "data"), log];

    // A: started, acknowledged, killed before any step ran.
    let child = await startChild(CHILD, args);
    await fetch(`${child.url}/agents/desk/d/start-die?id=A`, { method: "POST" }).catch(() => null);
    expect((await child.exited).signal).toBe("SIGKILL");

    // B: waits for its approval; approved, acknowledged, killed.
    child = await startChild(CHILD, args);
    await fetch(`${child.url}/agents/desk/d/start?id=B`, { method: "POST" });
    expect(await until(child.url, "B", (s) => s.status === "waiting", 20_000)).toMatchObject({ status: "waiting", approvals: 1 });
    await fetch(`${child.url}/agents/desk/d/approve-die?id=B`, { method: "POST" }).catch(() => null);
    expect((await child.exited).signal).toBe("SIGKILL");

    child = await startChild(CHILD, args);
    try {
      expect(await until(child.url, "A", (s) => s.status === "completed", 30_000)).toMatchObject({ status: "completed", output: "p2(p1(x))" });
      expect(await until(child.url, "B", (s) => s.status === "completed", 30_000)).toMatchObject({ status: "completed", output: "b(a(x))" });
      const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
      expect(calls.sort()).toEqual(["a", "b", "p1", "p2"]);
    } finally {
      child.proc.kill("SIGKILL");
      await child.exited;
    }
  }, 120_000);
});
