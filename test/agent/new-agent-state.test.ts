/**
 * A new agent's state is not read from its file (a file just made from the template has none), unless
 * the agent's own SQL put a row there first, or Hearth wrote one and a rollback made it read again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, getAgentByName, Host } from "../../src/index.ts";

/** Its onStart stores a state with its own SQL, before anything reads the state. */
class Restored extends Agent<unknown, { n: number }> {
  override initialState = { n: 0 };

  override onStart(): void {
    this.sql`INSERT INTO _hearth_state (chunk, data) VALUES (0, ${'{"n":41}'})`;
  }

  @callable() read(): number {
    return this.state.n;
  }
}

/** Its onStart sets a state (committed with the start-up); a later event changes it and fails. */
class Started extends Agent<unknown, { n: number }> {
  override initialState = { n: 0 };

  override onStart(): void {
    this.setState({ n: 1 });
  }

  @callable() changeThenFail(): void {
    this.setState({ n: 2 });
    throw new Error("changed my mind");
  }

  @callable() read(): number {
    return this.state.n;
  }
}

/** Never sets a state: the initial one. */
class Plain extends Agent<unknown, { n: number }> {
  override initialState = { n: 7 };

  @callable() read(): number {
    return this.state.n;
  }
}

const dirs: string[] = [];
const hosts: Host[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function host(): Host {
  const dataDir = mkdtempSync(join(tmpdir(), "hearth-new-state-"));
  dirs.push(dataDir);
  const made = new Host({ dataDir, agents: { Restored, Started, Plain } });
  hosts.push(made);
  return made;
}

describe("a new agent's state", () => {
  it("is the initial state when nothing stored one", async () => {
    const env = host().env as { Plain: never };
    expect(await (await getAgentByName<Plain>(env.Plain, "p")).read()).toBe(7);
  });

  it("is what the agent's own SQL stored before the first read", async () => {
    const env = host().env as { Restored: never };
    expect(await (await getAgentByName<Restored>(env.Restored, "r")).read()).toBe(41);
  });

  it("is read from the file after a rollback, not taken for empty", async () => {
    const env = host().env as { Started: never };
    const agent = await getAgentByName<Started>(env.Started, "s");
    await expect(agent.changeThenFail()).rejects.toThrow("changed my mind");
    expect(await agent.read()).toBe(1);
  });
});
