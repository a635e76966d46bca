import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RunOptions } from "../../src/cli/args.ts";
import { startServer, type RunningServer } from "../../src/cli/server.ts";
import { defaultOpenConnectionCap, openConnectionCap, openConnectionCount, setOpenConnectionCap } from "../../src/storage/parking.ts";

const SRC = join(import.meta.dirname, "..", "..", "src", "index.ts");
const before = openConnectionCap();
let running: RunningServer | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await running?.stop();
  running = undefined;
  setOpenConnectionCap(before);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function serve(config: string | undefined): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), "hearth-open-connections-"));
  dirs.push(cwd);
  writeFileSync(
    join(cwd, "entry.ts"),
    `import { Agent } from ${JSON.stringify(SRC)};
export class Note extends Agent {
  async onStart() { this.sql\`CREATE TABLE IF NOT EXISTS notes (text TEXT)\`; }
  async onRequest() { this.sql\`INSERT INTO notes (text) VALUES ('x')\`; return new Response(String(this.sql\`SELECT count(*) AS n FROM notes\`[0].n)); }
}
`,
  );
  if (config !== undefined) writeFileSync(join(cwd, "hearth.config.ts"), config);
  const options: RunOptions = { command: "start", entry: join(cwd, "entry.ts"), port: 0, host: "127.0.0.1", dataDir: join(cwd, ".hearth"), durability: undefined };
  running = await startServer(options, cwd);
  return running.banner.url;
}

describe("maxOpenConnections in hearth.config.ts", () => {
  it("caps the SQLite connections the server keeps open; agents over it still answer", async () => {
    const url = await serve(`export default { maxOpenConnections: 5 };\n`);
    expect(openConnectionCap()).toBe(5);
    for (let round = 1; round <= 2; round++) {
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`${url}/agents/note/n${i}`, { method: "POST" });
        expect(await response.text()).toBe(String(round));
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // the last turn's commits, then the cap again
    expect(openConnectionCount()).toBeLessThanOrEqual(5);
  });

  it("defaults to a fifth of the descriptor limit", async () => {
    setOpenConnectionCap(3);
    await serve(undefined);
    expect(openConnectionCap()).toBe(defaultOpenConnectionCap());
  });
});
