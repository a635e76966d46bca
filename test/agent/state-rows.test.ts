/**
 * State larger than one row (512 K characters of JSON) is split over rows; a later state of one row
 * replaces row 0 and deletes the rest only when rows beyond it may exist. These check that no row of
 * an earlier, larger state survives — across a rolled-back event, and across hibernation, where the
 * state is read back from the file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, getAgentByName, Host } from "../../src/index.ts";
import { agentFilePath } from "../../src/storage/agent-file.ts";

const BIG = "x".repeat(1_200_000); // three rows of JSON

class Notebook extends Agent<unknown, { text: string }> {
  override initialState = { text: "" };

  @callable() write(text: string): number {
    this.setState({ text });
    return this.state.text.length;
  }

  /** Sets the state, then fails: the event's writes are rolled back. */
  @callable() writeThenFail(text: string): void {
    this.setState({ text });
    throw new Error("changed my mind");
  }

  @callable() read(): string {
    return this.state.text;
  }

  /** A row put into the state table by the agent's own SQL (a restore done by hand), then a small state. */
  @callable() smuggleRowThenWrite(text: string): number {
    this.sql`INSERT INTO _hearth_state (chunk, data) VALUES (1, ${'"tail"'})`;
    this.setState({ text });
    return this.state.text.length;
  }

  /** A trigger on a table of its own that puts a second row into the state table. */
  @callable() addStateTrigger(): void {
    this.sql`CREATE TABLE IF NOT EXISTS notes (body TEXT)`;
    this.sql`CREATE TRIGGER IF NOT EXISTS notes_to_state AFTER INSERT ON notes BEGIN INSERT OR REPLACE INTO _hearth_state (chunk, data) VALUES (1, '"tail"'); END`;
  }

  /** Fires that trigger, then a small state. */
  @callable() noteThenWrite(text: string): number {
    this.sql`INSERT INTO notes (body) VALUES (${text})`;
    this.setState({ text });
    return this.state.text.length;
  }

  /** The same through ctx.storage.sql. */
  @callable() smuggleRowByExecThenWrite(text: string): number {
    this.ctx.storage.sql.exec("INSERT INTO _hearth_state (chunk, data) VALUES (2, '\"tail\"')");
    this.setState({ text });
    return this.state.text.length;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The chunks of state in the agent's file (read after the host closed it). */
function stateRows(dataDir: string, name: string): number[] {
  const db = new DatabaseSync(agentFilePath(dataDir, "notebook", name), { readOnly: true });
  try {
    return db.prepare("SELECT chunk FROM _hearth_state ORDER BY chunk").all().map((row) => Number(row.chunk));
  } finally {
    db.close();
  }
}

/** Runs `fn` on a fresh host over `dataDir` with the notebook `name`, then closes the host. */
async function withNotebook(dataDir: string, name: string, fn: (book: Notebook) => Promise<void>): Promise<void> {
  const host = new Host({ dataDir, agents: { Notebook } });
  try {
    await fn((await getAgentByName(host.env.Notebook as never, name)) as unknown as Notebook);
  } finally {
    await host.close();
  }
}

function tempDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-state-rows-"));
  dirs.push(dataDir);
  return dataDir;
}

describe("state rows", () => {
  it("a small state after a large one leaves no row of the large one, in memory or after a wake", async () => {
    const dataDir = tempDataDir();
    await withNotebook(dataDir, "a", async (book) => {
      expect(await book.write(BIG)).toBe(BIG.length);
      expect(await book.write("small")).toBe(5);
      expect(await book.write("smaller")).toBe(7);
    });
    expect(stateRows(dataDir, "a")).toEqual([0]);
    await withNotebook(dataDir, "a", async (woken) => expect(await woken.read()).toBe("smaller"));
  });

  it("a small state written after a rolled-back one still removes the rows of the large state the rollback restored", async () => {
    const dataDir = tempDataDir();
    await withNotebook(dataDir, "b", async (book) => {
      expect(await book.write(BIG)).toBe(BIG.length);
      // The failed event replaced the three rows with one; its rollback brings the three back.
      await expect(book.writeThenFail("gone")).rejects.toThrow("changed my mind");
      expect(await book.write("small")).toBe(5);
    });
    expect(stateRows(dataDir, "b")).toEqual([0]);
    await withNotebook(dataDir, "b", async (woken) => expect(await woken.read()).toBe("small"));
  });

  it("a small state after the agent's own SQL added rows to the state table leaves none of them", async () => {
    const dataDir = tempDataDir();
    await withNotebook(dataDir, "c", async (book) => {
      expect(await book.write("first")).toBe(5); // the row count is known: one
      expect(await book.smuggleRowThenWrite("second")).toBe(6);
      expect(await book.smuggleRowByExecThenWrite("third")).toBe(5);
    });
    expect(stateRows(dataDir, "c")).toEqual([0]);
    await withNotebook(dataDir, "c", async (woken) => expect(await woken.read()).toBe("third"));
  });

  it("a small state after a trigger put rows into the state table leaves none of them, before and after a wake", async () => {
    const dataDir = tempDataDir();
    await withNotebook(dataDir, "d", async (book) => {
      await book.addStateTrigger();
      expect(await book.write("first")).toBe(5);
      expect(await book.noteThenWrite("second")).toBe(6);
    });
    expect(stateRows(dataDir, "d")).toEqual([0]);
    // Woken: the trigger is in the file, and the state it wrote is read back before it fires again.
    await withNotebook(dataDir, "d", async (woken) => {
      expect(await woken.read()).toBe("second");
      expect(await woken.write("third")).toBe(5);
      expect(await woken.noteThenWrite("fourth")).toBe(6);
    });
    expect(stateRows(dataDir, "d")).toEqual([0]);
    await withNotebook(dataDir, "d", async (woken) => expect(await woken.read()).toBe("fourth"));
  });
});
