import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/platform/agent.ts";
import { ActorHost as Host } from "../../src/host/host.ts";
import { readStamp } from "../../src/storage/file-stamp.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

class Notes extends Agent {
  override onRequest(): Response {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    this.sql`INSERT INTO notes (text) VALUES ('kept')`;
    return new Response("ok");
  }
}

/** Every agent file under a data dir's agents folder. */
function agentFiles(dataDir: string): string[] {
  const root = join(dataDir, "agents", "notes");
  return readdirSync(root).flatMap((fanout) => readdirSync(join(root, fanout)).filter((name) => name.endsWith(".sqlite")).map((name) => join(root, fanout, name)));
}

describe("Host.close()", () => {
  it("resolves once the files it wrote without fsync are durable (their stamps cleared), so a reboot right after finds them intact", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-host-close-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: { Notes } });
    for (let i = 0; i < 5; i++) expect(await (await host.request("Notes", `n${i}`, new Request(`http://x/agents/notes/n${i}`))).text()).toBe("ok");
    const files = agentFiles(dataDir);
    expect(files).toHaveLength(5);
    expect(files.every((file) => readStamp(file) !== 0)).toBe(true); // relaxed durability: written without fsync
    await host.close();
    expect(files.map((file) => readStamp(file))).toEqual([0, 0, 0, 0, 0]);
  });
});
