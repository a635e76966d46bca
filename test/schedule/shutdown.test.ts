import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, Host } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { RunJournal } from "../../src/schedule/run-journal.ts";

/** What the long job and the breaker did, in order. */
const seen: string[] = [];
/** Called when the next thing is seen: the test waits for it. */
let onSeen: (() => void) | undefined;
/** Lets every job still waiting finish. */
const releases: Array<() => void> = [];

function see(what: string): void {
  seen.push(what);
  onSeen?.();
}

function nextSeen(): Promise<void> {
  return new Promise((resolve) => (onSeen = resolve));
}

class Deploys extends Agent {
  add() {
    return this.queue("longJob", { n: 1 });
  }
  async longJob() {
    see("job started");
    await new Promise<void>((resolve) => releases.push(resolve)); // a long model call, say
    see("job finished");
  }
  override onError(error: unknown) {
    see(error instanceof Error && /crash-loop breaker/.test(error.message) ? "tripped" : String(error));
  }
  status() {
    return this.getQueues().map((item) => ({ tripped: item.tripped, lastError: item.lastError }));
  }
}

const dirs: string[] = [];
const hosts: Host[] = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  for (const host of hosts.splice(0)) await host.close({ drainMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  seen.length = 0;
  onSeen = undefined;
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-shutdown-"));
  dirs.push(dir);
  return dir;
}

function startHost(dataDir: string): { host: Host; agent: Deploys } {
  const host = new Host({ dataDir, agents: { Deploys }, crashLoopLimit: 2 });
  hosts.push(host);
  return { host, agent: (host.env.Deploys as AgentNamespace<Deploys>).getByName("d") as unknown as Deploys };
}

describe("a graceful shutdown during a run", () => {
  it("is no crash: the run goes again after each restart and the crash-loop breaker never trips", async () => {
    const dataDir = tempDir();
    let { host, agent } = startHost(dataDir);
    let started = nextSeen();
    await agent.add();
    await started;
    // Three deploys in a row while the job runs (crashLoopLimit is 2).
    for (let restart = 1; restart <= 3; restart++) {
      await host.close({ drainMs: 0 });
      started = nextSeen();
      ({ host, agent } = startHost(dataDir));
      await started; // the job started again, or the breaker stopped it
      expect(seen.at(-1)).toBe("job started");
    }
    expect(seen).toEqual(["job started", "job started", "job started", "job started"]);
    expect(await agent.status()).toEqual([{}]);
    // Let the current run finish: the item is done and gone.
    const finished = nextSeen();
    releases.at(-1)!();
    await finished;
    await host.tasksIdle();
    expect(await agent.status()).toEqual([]);
  });
});

describe("run journal", () => {
  it("writes runs still going at close as interrupted, which the next boot does not count as crashes", () => {
    const path = join(tempDir(), "tasks.journal");
    const journal = new RunJournal(path);
    journal.started("a", "n", { kind: "queue", id: "interrupted" });
    const done = journal.started("a", "n", { kind: "queue", id: "done" });
    journal.finished(done);
    journal.close();
    expect(RunJournal.recover(path)).toEqual([]);
    // Without a close (the process died), the run is a crash.
    const crashed = new RunJournal(path);
    crashed.started("a", "n", { kind: "schedule", id: "crashed" });
    expect(RunJournal.recover(path)).toEqual([{ slug: "a", name: "n", ref: { kind: "schedule", id: "crashed" } }]);
    crashed.close();
  });
});
