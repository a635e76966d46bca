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

describe("agent file paths made lately", () => {
  it("are kept per data directory, class and name, and stay right after thousands of others pushed them out", () => {
    const first = agentFilePath("/data/one", "counter", "alice");
    expect(agentFilePath("/data/two", "counter", "alice")).toBe(first.replace("/data/one/", "/data/two/"));
    expect(agentFilePath("/data/one", "timer", "alice")).not.toBe(first);
    const made = Array.from({ length: 12_000 }, (_, i) => agentFilePath("/data/one", "counter", `n${i}`));
    expect(new Set(made).size).toBe(12_000);
    expect(agentFilePath("/data/one", "counter", "alice")).toBe(first);
    expect(agentFilePath("/data/one", "counter", "n0")).toBe(made[0]);
  });
});
