/**
 * A real crash in the middle of quiet sessions' background closes: a child process writes to settled
 * agent files, parking each after its write, and is killed with SIGKILL. Every acknowledged note is
 * in its file afterwards, whatever step each file's close had reached (decision 0022).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { killChildren, startChild } from "../support/child.ts";
import { FILES, quietPath } from "./fixtures/quiet-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/quiet-child.ts", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "hearth-quiet-crash-"));

afterAll(async () => {
  killChildren();
  await whenFilesSettled();
  rmSync(dataDir, { recursive: true, force: true });
});

function notesOf(i: number): number[] {
  const db = new AgentDatabase({ path: quietPath(dataDir, i), durability: "relaxed", identity: `quiet/${i}`, currentOwner: () => undefined });
  try {
    return (db.statement("SELECT n FROM notes ORDER BY rowid").all() as Array<{ n: number }>).map((row) => Number(row.n));
  } finally {
    db.close();
  }
}

describe("quiet sessions under a process crash", () => {
  it("keeps every acknowledged write, whatever step the background closes had reached", async () => {
    const acked: number[][] = Array.from({ length: FILES }, () => []);
    let closing = 0;
    const child = await startChild(CHILD, [dataDir], {
      onLine: (line) => {
        const match = /^ACK (\d+) (\d+) (\d+)$/.exec(line);
        if (match === null) return;
        acked[Number(match[1])]!.push(Number(match[2]));
        closing = Math.max(closing, Number(match[3]));
      },
    });
    expect(await child.nextLine(/^ACK \d+ 300 /, 60_000), child.stderr()).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;
    expect(closing, "background closes were under way while the child wrote").toBeGreaterThan(0);
    for (let i = 0; i < FILES; i++) {
      const stored = notesOf(i);
      // Every acknowledged note is there, in order; a note written but not yet acknowledged may be too.
      expect(stored.slice(0, acked[i]!.length), `file ${i}`).toEqual(acked[i]);
      expect(stored.length - acked[i]!.length, `file ${i}`).toBeLessThanOrEqual(1);
    }
  });
});
