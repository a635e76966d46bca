import { describe, expect, it } from "vitest";
import { scanStatements } from "../../src/storage/sql-text.ts";

const texts = (sql: string) => scanStatements(sql).map((statement) => statement.text);

describe("scanStatements", () => {
  it("splits at top-level semicolons, not inside strings, identifiers or comments", () => {
    expect(texts("SELECT 'a;b'; SELECT \"c;d\" FROM [e;f] -- g;h\n; /* i;j */ SELECT `k;l`")).toEqual([
      "SELECT 'a;b'",
      'SELECT "c;d" FROM [e;f] -- g;h',
      "/* i;j */ SELECT `k;l`",
    ]);
  });

  it("drops comment-only and empty pieces", () => {
    expect(texts(";; -- nothing\n /* still nothing */ ;")).toEqual([]);
  });

  it("keeps a trigger body (with CASE … END inside) in one statement", () => {
    const sql =
      "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET v = CASE WHEN new.v > 0 THEN 1 ELSE 0 END; INSERT INTO log VALUES (1); END; SELECT 1";
    const statements = scanStatements(sql);
    expect(statements.map((statement) => statement.keyword)).toEqual(["CREATE", "SELECT"]);
    expect(statements[0]!.text.endsWith("END")).toBe(true);
  });

  it("counts parameters as SQLite does: ? takes the largest index so far plus one", () => {
    const count = (sql: string) => scanStatements(sql)[0]!.parameterCount;
    expect(count("SELECT ?, ?, ?")).toBe(3);
    expect(count("SELECT ?5")).toBe(5);
    expect(count("SELECT ?2, ?")).toBe(3);
    expect(count("SELECT '?', ? -- ?")).toBe(1);
    expect(count("SELECT x'3F', ?")).toBe(1);
  });

  it("finds named parameters but not $ inside identifiers or : inside strings", () => {
    const named = (sql: string) => scanStatements(sql)[0]!.namedParameter;
    expect(named("SELECT * FROM t WHERE a = :a")).toBe(":a");
    expect(named("SELECT @who")).toBe("@who");
    expect(named("SELECT $v")).toBe("$v");
    expect(named("SELECT a$b, ':x', json_extract(j, '$.a') FROM t")).toBeUndefined();
  });
});
