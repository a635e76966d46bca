import { describe, expect, it } from "vitest";
import { splitStatements } from "../../src/storage/split-statements.ts";

describe("splitStatements", () => {
  it("splits at top-level semicolons only", () => {
    expect(splitStatements("CREATE TABLE a(x); INSERT INTO a VALUES ('x;y'); -- c;\nSELECT 1")).toEqual([
      "CREATE TABLE a(x)",
      "INSERT INTO a VALUES ('x;y')",
      "-- c;\nSELECT 1",
    ]);
  });

  it("keeps trigger bodies whole and drops empty statements", () => {
    const script = `CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); UPDATE c SET n = n + 1; END;;  /* done; */`;
    expect(splitStatements(script)).toEqual([
      "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); UPDATE c SET n = n + 1; END",
    ]);
  });

  it("does not treat a plain BEGIN transaction as a trigger body", () => {
    expect(splitStatements("BEGIN; SELECT 1; COMMIT")).toEqual(["BEGIN", "SELECT 1", "COMMIT"]);
  });

  it("keeps a trigger whose body has a CASE … END whole", () => {
    const trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = CASE WHEN new.x > 0 THEN 1 ELSE 0 END; INSERT INTO c VALUES (1); END";
    expect(splitStatements(`${trigger}; SELECT 2`)).toEqual([trigger, "SELECT 2"]);
  });
});
