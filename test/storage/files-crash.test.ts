/**
 * A real crash: a child process creates agent files (relaxed durability: written without fsync,
 * settled in the background) and parks a connection between writes, and is killed with SIGKILL in
 * the middle. Every acknowledged file opens with its note; the file being made when the kill came
 * opens too (empty or with its note); the parked database has every acknowledged write.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import { killChildren, startChild } from "../support/child.ts";
import { agentPath } from "./fixtures/files-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/files-child.ts", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "hearth-files-crash-"));

afterAll(async () => {
  killChildren();
  await whenFilesSettled();
  rmSync(dataDir, { recursive: true, force: true });
});

function notes(path: string, identity: string): string[] {
  const db = new AgentDatabase({ path, durability: "relaxed", identity, currentOwner: () => undefined });
  try {
    if (!db.hasTable("notes")) return [];
    return (db.statement("SELECT text FROM notes ORDER BY rowid").all() as Array<{ text: string }>).map((row) => row.text);
  } finally {
    db.close();
  }
}

describe("agent files under a process crash", () => {
  it("keeps every acknowledged file and write intact", async () => {
    let acked = -1;
    let parkedCount = 0;
    const child = await startChild(CHILD, [dataDir], {
      onLine: (line) => {
        if (line.startsWith("ACK ")) acked = Number(line.slice(4));
        if (line.startsWith("PARKED ")) parkedCount = Number(line.slice(7));
      },
    });
    expect(await child.nextLine(/^ACK 150$/, 30_000), child.stderr()).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;

    for (let i = 0; i <= acked; i++) expect(notes(agentPath(dataDir, i), `note/${i}`), `agent ${i}`).toEqual([String(i)]);
    const next = agentPath(dataDir, acked + 1);
    if (existsSync(next)) expect([[], [String(acked + 1)]]).toContainEqual(notes(next, `note/${acked + 1}`));
    const parked = notes(join(dataDir, "agents", "note", "parked.sqlite"), "note/parked");
    expect(parked.length).toBeGreaterThanOrEqual(parkedCount);
    expect(parked.slice(0, parkedCount)).toEqual(Array.from({ length: parkedCount }, (_, i) => String(i)));
  });
});
