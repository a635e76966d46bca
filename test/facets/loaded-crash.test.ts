/**
 * Facets running customer code across kill -9: a child process serves them under load, is killed
 * with SIGKILL several times and started again on the same data directory; every write a client saw
 * acknowledged is still in the facet's database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { killChildren, startChild, type Child } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./loaded-crash-child.ts", import.meta.url));
const dirs: string[] = [];

afterAll(() => {
  killChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function report(child: Child, name: string): Promise<string[]> {
  const response = await fetch(`${child.url}/journals/${name}/report`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as string[];
}

async function kill(child: Child): Promise<void> {
  child.proc.kill("SIGKILL");
  expect((await child.exited).signal, `the child died on its own; stderr:\n${child.stderr()}`).toBe("SIGKILL");
}

describe("facets of customer code across SIGKILL", () => {
  it("keeps every write acknowledged before a kill, over several kills under load", { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-loaded-crash-"));
    dirs.push(dir);
    const names = ["alice", "bob", "carol"];
    const acked = new Map(names.map((name) => [name, new Set<string>()]));
    let requests = 0;
    for (let round = 1; round <= 3; round++) {
      const child = await startChild(CHILD, [dir]);
      let running = true;
      const loops = Array.from({ length: 6 }, async (_, loop) => {
        for (let seq = 0; running; seq++) {
          const name = names[(loop + seq) % names.length]!;
          const id = `r${round}-l${loop}-${seq}`;
          requests++;
          try {
            const response = await fetch(`${child.url}/journals/${name}/append?id=${id}`, { method: "POST", signal: AbortSignal.timeout(10_000) });
            if (response.status === 200 && (await response.text()) === "ok") acked.get(name)!.add(id);
          } catch {
            // cut off by the kill: not acknowledged
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 800 + Math.floor(Math.random() * 600)));
      await kill(child);
      running = false;
      await Promise.all(loops);
    }

    const final = await startChild(CHILD, [dir]);
    const missing: string[] = [];
    let total = 0;
    for (const name of names) {
      const held = new Set(await report(final, name));
      for (const id of acked.get(name)!) {
        total++;
        if (!held.has(id)) missing.push(`${name}:${id}`);
      }
    }
    expect(missing).toEqual([]);
    expect(total).toBeGreaterThan(0);
    expect(requests).toBeGreaterThan(total);
    final.proc.kill("SIGTERM");
    await final.exited;
  });
});
