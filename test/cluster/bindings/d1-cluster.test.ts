import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterD1 } from "../../../src/cluster/bindings/d1.ts";
import type { D1Database } from "../../../src/d1/index.ts";
import { postgresUnavailable, sharedPostgres } from "../../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "../support/test-node.ts";

interface RunningNode extends TestNode {
  db: D1Database;
}

/** A node with a D1 binding for the database "app". */
async function startNode(connectionString: string, id: string): Promise<RunningNode> {
  let open: ((name: string) => D1Database) | undefined;
  const running = await startTestNode(connectionString, id, { serve: (host, node) => ((open = clusterD1(node, { dataDir: host.dataDir })), {}) });
  return { ...running, db: open!("app") };
}

async function stopNode(running: RunningNode): Promise<void> {
  running.db.close();
  await stopTestNode(running);
}

const held = (nodes: RunningNode[]): string[] => nodes.filter((running) => running.node.holds("~d1", "app")).map((running) => running.id);

describe.skipIf(postgresUnavailable() !== undefined)("D1 in a cluster: one node holds a database, every node queries it", () => {
  let connectionString: string;
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    connectionString = await (await sharedPostgres()).database("d1_cluster");
    for (const id of ["a", "b", "c"]) nodes.push(await startNode(connectionString, id));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopNode(running).catch(() => undefined);
  }, 60_000);

  test("writes through any node are read through every other, from one copy", async () => {
    const [a, b, c] = nodes as [RunningNode, RunningNode, RunningNode];
    await a.db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, data BLOB)");
    const inserted = await b.db.prepare("INSERT INTO notes (body, data) VALUES (?, ?)").bind("from b", new Uint8Array([1, 2, 255])).run();
    expect(inserted.meta).toMatchObject({ changes: 1, last_row_id: 1, changed_db: true });
    await c.db.batch([c.db.prepare("INSERT INTO notes (body) VALUES (?)").bind("from c 1"), c.db.prepare("INSERT INTO notes (body) VALUES (?)").bind("from c 2")]);
    const rows = (await a.db.prepare("SELECT id, body, data FROM notes ORDER BY id").all<{ id: number; body: string; data: number[] | null }>()).results;
    expect(rows.map((row) => row.body)).toEqual(["from b", "from c 1", "from c 2"]);
    expect(rows[0]!.data).toEqual([1, 2, 255]);
    expect(await c.db.prepare("SELECT count(*) AS n FROM notes").first("n")).toBe(3);
    expect(held(nodes)).toHaveLength(1);
  });

  test("errors come back from the holding node with D1's texts", async () => {
    const [, b, c] = nodes as [RunningNode, RunningNode, RunningNode];
    await expect(b.db.prepare("SELECT * FROM missing").all()).rejects.toThrow("D1_ERROR: no such table: missing: SQLITE_ERROR");
    await expect(c.db.prepare("INSERT INTO notes (id, body) VALUES (1, 'again')").run()).rejects.toThrow(/UNIQUE constraint failed: notes\.id.*SQLITE_CONSTRAINT/);
    await expect(b.db.exec("INSERT INTO notes (body) VALUES ('x')\nSELECT nope FROM notes")).rejects.toThrow(/^D1_EXEC_ERROR: Error in line 2/);
    // The failed exec rolled back as a whole, on the one copy.
    expect(await c.db.prepare("SELECT count(*) AS n FROM notes").first("n")).toBe(3);
  });

  test("a table without a PRIMARY KEY is refused: its rows could not reach the other nodes", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    await expect(b.db.exec("CREATE TABLE loose (v TEXT)")).rejects.toThrow(/Table "loose" has no PRIMARY KEY/);
    expect(await a.db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'loose'").first("n")).toBe(0);
  });

  test("sessions follow bookmarks across nodes", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const session = a.db.withSession("first-primary");
    await session.prepare("INSERT INTO notes (body) VALUES ('in a session')").run();
    const bookmark = session.getBookmark();
    expect(bookmark).toMatch(/^\d{16}$/);
    const later = b.db.withSession(bookmark!);
    expect(await later.prepare("SELECT body FROM notes WHERE body = 'in a session'").first("body")).toBe("in a session");
    expect(later.getBookmark()! >= bookmark!).toBe(true);
  });

  test("the holder leaving hands the database over: the next node rebuilds it from the log with every answered write", async () => {
    const owner = nodes.find((running) => running.node.holds("~d1", "app"))!;
    const before = await owner.db.prepare("SELECT body FROM notes ORDER BY id").raw();
    await stopNode(owner);
    nodes.splice(nodes.indexOf(owner), 1);
    const [next] = nodes as [RunningNode];
    expect(await next.db.prepare("SELECT body FROM notes ORDER BY id").raw()).toEqual(before);
    expect(held(nodes)).toEqual([next.id]);
    await next.db.prepare("INSERT INTO notes (body) VALUES ('after the handover')").run();
    expect(await nodes[1]!.db.prepare("SELECT count(*) AS n FROM notes").first("n")).toBe(before.length + 1);
  }, 30_000);

  test("the database's log is in Postgres: a node with an empty disk reads every write", async () => {
    const fresh = await startNode(connectionString, "fresh");
    nodes.push(fresh);
    const expected = await nodes[0]!.db.prepare("SELECT body FROM notes ORDER BY id").raw();
    for (const running of nodes.filter((node) => node !== fresh).splice(0)) {
      await stopNode(running);
      nodes.splice(nodes.indexOf(running), 1);
    }
    expect(await fresh.db.prepare("SELECT body FROM notes ORDER BY id").raw()).toEqual(expected);
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM hearth.actor_log WHERE actor_id = '~d1/app'");
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  }, 30_000);
});
