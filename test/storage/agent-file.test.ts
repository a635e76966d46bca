import { relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { agentFilePath } from "../../src/storage/agent-file.ts";

const hostile = [
  "..",
  "../../etc/passwd",
  "/absolute/path",
  "a/../../b",
  "C:\\Windows\\system32",
  "name\u0000with-nul",
  "ünïcödé 🔥 名前",
  "x".repeat(1024),
  ".hidden",
  "CON",
  "%2e%2e%2f",
  "  spaces  ",
];

describe("agent file paths", () => {
  it("keeps every hostile name inside the data directory", () => {
    const dataDir = resolve("/tmp/hearth-data");
    for (const name of hostile) {
      const path = agentFilePath(dataDir, "counter", name);
      const rel = relative(dataDir, path);
      expect(rel.startsWith("..")).toBe(false);
      expect(rel.split(sep)[0]).toBe("agents");
      expect(path).toMatch(/^[\w/.-]+\.sqlite$/);
      expect(Buffer.byteLength(path.split(sep).at(-1)!)).toBeLessThan(120);
    }
  });

  it("gives distinct names distinct files, even when their readable parts agree", () => {
    const names = ["a/b", "a-b", "A B", "a..b", "a\\b", "ä b", "a b"];
    const paths = new Set(names.map((name) => agentFilePath("/d", "counter", name)));
    expect(paths.size).toBe(names.length);
  });

  it("separates classes and is stable for the same name", () => {
    expect(agentFilePath("/d", "counter", "x")).toBe(agentFilePath("/d", "counter", "x"));
    expect(agentFilePath("/d", "counter", "x")).not.toBe(agentFilePath("/d", "chat-room", "x"));
  });
});
