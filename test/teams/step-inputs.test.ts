/**
 * The input each member step received is journaled beside its output: whole up to
 * MAX_JOURNALED_INPUT_CHARS, a preview with a marker past it, the reason when JSON cannot encode it —
 * and none of that ever fails the run. A journal written before inputs were kept stays readable: its
 * steps read as "not recorded", and new steps of the same agent are recorded.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDemoModel } from "../../src/chat/index.ts";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fnMember, pipeline, route, step, team, teamRun } from "../../src/teams/index.ts";
import { TeamJournal } from "../../src/teams/journal.ts";
import { runtimeOf } from "../../src/teams/runtime-of.ts";
import { journaledInput, MAX_JOURNALED_INPUT_CHARS, truncationMarker, type JournaledInput } from "../../src/teams/step-inputs.ts";

const received: number[] = [];
const teams = {
  echo: team("si-echo", pipeline(fnMember("shout", (text: string) => text.toUpperCase()), fnMember("measure", (text: string) => (received.push(text.length), text.length)))),
  classified: team(
    "si-classified",
    route({
      routes: { billing: fnMember("billing", (q: string) => `billing: ${q}`), general: fnMember("general", (q: string) => `general: ${q}`) },
      classify: { model: createDemoModel({ wordDelayMs: 0 }), labels: { billing: "invoices, refunds, payments", general: "anything else" } },
      default: "general",
    }),
  ),
  bigint: team("si-bigint", step(fnMember("count", (value: { n: bigint }) => String(value.n)), { input: () => ({ n: 10n }) })),
} satisfies Record<string, { name: string }>;

/** The journal as a run written before step inputs were kept left it. */
const OLD_SCHEMA = [
  `CREATE TABLE _hearth_team_runs (
    id TEXT PRIMARY KEY, team TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL,
    input TEXT NOT NULL, output TEXT, error TEXT, run_key TEXT, conversation TEXT, parent TEXT, limits TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, elapsed_ms INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX _hearth_team_runs_status ON _hearth_team_runs (status, created_at)`,
  `CREATE TABLE _hearth_team_steps (
    run_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, member TEXT, status TEXT NOT NULL,
    output TEXT, error TEXT, usage TEXT, at INTEGER NOT NULL, PRIMARY KEY (run_id, path)) WITHOUT ROWID`,
  `CREATE TABLE _hearth_team_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, path TEXT, data TEXT, at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)) WITHOUT ROWID`,
  `CREATE TABLE _hearth_team_owners (
    team TEXT NOT NULL, conversation TEXT NOT NULL, member TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (team, conversation)) WITHOUT ROWID`,
  `INSERT INTO _hearth_team_runs (id, team, version, status, input, output, limits, created_at, updated_at)
    VALUES ('old-1', 'si-echo', '1', 'completed', '"hi"', '2', '{}', 1000, 2000)`,
  `INSERT INTO _hearth_team_steps (run_id, path, kind, member, status, output, at)
    VALUES ('old-1', '0.shout', 'member', 'shout', 'done', '"HI"', 1500)`,
];

class Owner extends Agent {
  async run(which: keyof typeof teams, input: unknown): Promise<{ id: string; output: unknown }> {
    const run = await teams[which].start(this, input as never);
    return { id: run.id, output: await run.result() };
  }
  inputs(runId: string): Record<string, JournaledInput> {
    return Object.fromEntries(new TeamJournal(runtimeOf(this).db).stepInputs(runId));
  }
  seedOldJournal(): void {
    for (const statement of OLD_SCHEMA) this.ctx.storage.sql.exec(statement);
  }
  oldRun() {
    const record = teamRun(this, "old-1").record();
    const steps = [...new TeamJournal(runtimeOf(this).db).steps("old-1").values()];
    return { status: record.status, input: record.input, output: record.output, steps };
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  received.length = 0;
});

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner }, time: "system" });
  return t.get<Owner>("Owner", "o1") as unknown as Owner;
}

describe("journaled step inputs", () => {
  it("keeps each member step's input beside its output", async () => {
    const o = await owner();
    const { id, output } = await o.run("echo", "hello");
    expect(output).toBe(5);
    expect(await o.inputs(id)).toEqual({
      "0.shout": { state: "recorded", value: "hello", chars: 7 },
      "1.measure": { state: "recorded", value: "HELLO", chars: 7 },
    });
  });

  it("keeps the input of a model-classified route decision and of the member it chose", async () => {
    const o = await owner();
    const question = "Where is my invoice refund?";
    const { id } = await o.run("classified", question);
    const recorded = { state: "recorded", value: question, chars: question.length + 2 };
    expect(await o.inputs(id)).toEqual({ decision: recorded, billing: recorded });
  });

  it("keeps a preview with a marker for an input over the limit, and the run goes on with the whole input", async () => {
    const o = await owner();
    const big = "x".repeat(MAX_JOURNALED_INPUT_CHARS * 2);
    const { id, output } = await o.run("echo", big);
    expect(output).toBe(big.length);
    expect(received).toEqual([big.length]);
    const inputs = await o.inputs(id);
    const chars = big.length + 2; // the JSON string's quotes
    expect(inputs["0.shout"]).toEqual({ state: "truncated", preview: `"${"x".repeat(MAX_JOURNALED_INPUT_CHARS - 1)}${truncationMarker(chars)}`, chars });
    expect(inputs["1.measure"]).toMatchObject({ state: "truncated", chars });
  });

  it("records why an input JSON cannot encode was not kept, and the run completes", async () => {
    const o = await owner();
    const { id, output } = await o.run("bigint", "start");
    expect(output).toBe("10");
    const inputs = Object.values(await o.inputs(id));
    expect(inputs).toEqual([{ state: "unserializable", reason: expect.stringMatching(/BigInt/) }]);
  });

  it("reads a journal written before inputs were kept, and records the inputs of new runs in it", async () => {
    const o = await owner();
    await o.seedOldJournal();
    expect(await o.oldRun()).toEqual({ status: "completed", input: "hi", output: 2, steps: [{ path: "0.shout", kind: "member", member: "shout", status: "done", output: "HI", at: 1500 }] });
    expect(await o.inputs("old-1")).toEqual({});
    const { id } = await o.run("echo", "new");
    expect((await o.inputs(id))["0.shout"]).toEqual({ state: "recorded", value: "new", chars: 5 });
    expect(await o.inputs("old-1")).toEqual({});
  });
});

describe("journaledInput", () => {
  it("never ends a preview on half a surrogate pair", () => {
    const text = "😀".repeat(10); // JSON: a quote, then 20 UTF-16 units
    const stored = journaledInput(text, 4);
    expect(stored.state).toBe("truncated");
    expect(stored.text).toBe(`"😀${truncationMarker(22, 4)}`);
  });

  it("stores undefined as null and a cycle as unserializable", () => {
    expect(journaledInput(undefined)).toEqual({ text: "null", state: "recorded", chars: 4 });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(journaledInput(cycle)).toMatchObject({ state: "unserializable", chars: null });
  });
});
