/**
 * Crash safety of durable workflows: a child process runs Pipeline instances whose steps append their
 * side effect to a plain file; it is killed with SIGKILL in the middle of steps, restarted on the same
 * data directory each time, and at the end every instance is complete with each step's side effect
 * recorded exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { InstanceStatus } from "../../src/workflow/types.ts";
import { killChildren, startChild as startProgram, type Child } from "../support/child.ts";
import type { PipelineOutput } from "./fixtures/crash-child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));

/** The side-effecting steps of a Pipeline, in order (the child also sleeps twice and retries "enrich" once). */
const STEPS = ["fetch", "parse", "enrich", "score", "store", "notify"];
/**
 * Instances started at first. The kills go on until every instance has completed, so this, not
 * MIN_KILLS, sets how many processes the suite starts (8 took 11–13, 5 take 6–9); with five, kills
 * still cut several step functions at once (the HELD count in the log line).
 */
const FIRST_BATCH = process.env.HEARTH_SOAK === "1" ? 8 : 5;
/** Started whenever everything finished before MIN_KILLS kills. */
const LATER_BATCH = 5;
/** 5 in the suite; HEARTH_SOAK=1 runs the long soak (40). */
const MIN_KILLS = process.env.HEARTH_SOAK === "1" ? 40 : 5;
const MAX_ROUNDS = MIN_KILLS * 4;
/** A round kills after the n-th IN line of its child, n drawn from 1…KILL_AFTER_MAX_IN, so that some rounds get steps done. */
const KILL_AFTER_MAX_IN = 20;
const KILL_DELAY_MS = 40;
const FINAL_DEADLINE_MS = 20_000;
/** No IN line for this long while instances are unfinished: they are stuck. */
const STALL_MS = 5_000;

const dataDir = mkdtempSync(join(tmpdir(), "hearth-workflow-crash-"));
/** Every stdout line of every child and every kill, with its generation and time: for failure reports. */
const history: string[] = [];
const epoch = Date.now();

afterAll(() => {
  killChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

type Status = InstanceStatus<PipelineOutput>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the child on the data directory and waits for its READY line. */
async function startChild(generation: number): Promise<Child & { inLines(): number }> {
  const child = await startProgram(CHILD, [dataDir], {
    stdin: true,
    onLine: (line) => history.push(`g${generation} +${Date.now() - epoch}ms ${line}`),
  });
  return { ...child, inLines: () => child.lines.filter((line) => line.startsWith("IN ")).length };
}

/** Instance id → seed, for every instance started (each acknowledged by a 200). */
const instances = new Map<string, number>();

async function startInstances(url: string, count: number): Promise<void> {
  const batch = Array.from({ length: count }, (_, i) => ({ id: `p${instances.size + i}`, seed: 1000 + instances.size + i }));
  await Promise.all(
    batch.map(async ({ id, seed }) => {
      const response = await fetch(`${url}/start?id=${id}&seed=${seed}`, { method: "POST", signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`start ${id}: HTTP ${response.status} ${text}`);
    }),
  );
  for (const { id, seed } of batch) instances.set(id, seed);
}

async function statuses(url: string): Promise<Map<string, Status>> {
  const ids = [...instances.keys()].join(",");
  const response = await fetch(`${url}/statuses?ids=${ids}`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`statuses: HTTP ${response.status} ${await response.text()}`);
  return new Map(Object.entries((await response.json()) as Record<string, Status>));
}

/** What the data directory holds about `ids` (run after the last child stopped), and their history. */
function postMortem(ids: string[], log: string[]): string {
  const out: string[] = [];
  const workflows = new DatabaseSync(join(dataDir, "workflows.sqlite"));
  const index = new DatabaseSync(join(dataDir, "host.sqlite"));
  try {
    for (const id of ids) {
      const row = workflows.prepare("SELECT status, epoch, created_at, updated_at FROM instances WHERE workflow = 'Pipeline' AND id = ?").get(id);
      const steps = workflows.prepare("SELECT key, seq, kind, status, attempts, wake_at FROM steps WHERE workflow = 'Pipeline' AND instance = ? ORDER BY seq").all(id);
      const due = index.prepare("SELECT slug, name, at, leased FROM due WHERE name = ?").all(id);
      out.push(`${id}: instance ${JSON.stringify(row)}`, ...steps.map((step) => `  step ${JSON.stringify(step)}`), `  due-index entries: ${JSON.stringify(due)}`);
      out.push(...log.filter((line) => line.includes(` ${id} `) || / (KILL|STOP|READY)/.test(line)).map((line) => `  ${line}`));
    }
  } finally {
    workflows.close();
    index.close();
  }
  return out.join("\n");
}

const allComplete = (map: Map<string, Status>) => [...map.values()].every((status) => status.status === "complete");

describe("workflow crash safety", () => {
  it(`resumes instances killed mid-step (≥ ${MIN_KILLS} SIGKILLs) with each step's side effect recorded once`, { timeout: process.env.HEARTH_SOAK === "1" ? 900_000 : 120_000 }, async () => {
    const started = Date.now();
    let kills = 0;
    /** Step functions under way at the kills, as the children reported with HELD. */
    let cutOff = 0;
    let inLines = 0;
    let generation = 0;
    const problems: string[] = [];

    while (generation < MAX_ROUNDS) {
      const child = await startChild(++generation);
      if (generation === 1) await startInstances(child.url, FIRST_BATCH);
      let finished = false;
      const target = 1 + Math.floor(Math.random() * KILL_AFTER_MAX_IN);
      // Wait for the target-th IN line; check now and then whether everything finished meanwhile.
      let lastIn = { count: child.inLines(), at: Date.now() };
      for (let checks = 0; child.inLines() < target; checks++) {
        if (child.inLines() !== lastIn.count) lastIn = { count: child.inLines(), at: Date.now() };
        if (Date.now() - lastIn.at > STALL_MS) {
          // Nothing runs any more although not everything is complete: the final check reports what is stuck.
          problems.push(`generation ${generation}: no step started for ${STALL_MS} ms; statuses ${JSON.stringify(Object.fromEntries(await statuses(child.url)))}`);
          finished = true;
          break;
        }
        if (checks % 5 === 0 && allComplete(await statuses(child.url))) {
          if (kills >= MIN_KILLS) {
            finished = true;
            break;
          }
          await startInstances(child.url, LATER_BATCH);
        }
        if (child.inLines() < target) await child.nextLine(/^IN /, 100);
        if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
          throw new Error(`child ${generation} died on its own; stderr:\n${child.stderr()}`);
        }
      }
      if (!finished) {
        // Mid-step: the last IN line's step has just started its slow part (100-200 ms of work).
        await sleep(Math.random() * KILL_DELAY_MS);
        const held = child.nextLine(/^HELD /, 5_000);
        child.proc.stdin!.write("HOLD\n");
        const answer = await held;
        if (answer === null) problems.push(`generation ${generation}: no HELD within 5 s (an append never got its step committed?)`);
        else cutOff += Number(answer.split(" ")[1]);
        kills++;
      }
      inLines += child.inLines();
      history.push(`g${generation} +${Date.now() - epoch}ms ${finished ? "STOP" : "KILL"}`);
      child.proc.kill("SIGKILL");
      const exit = await child.exited;
      expect(exit.signal, `generation ${generation}: the child died on its own; stderr:\n${child.stderr()}`).toBe("SIGKILL");
      if (finished) break;
    }

    // A clean start: every instance must finish.
    const final = await startChild(++generation);
    let last = await statuses(final.url);
    const deadline = Date.now() + FINAL_DEADLINE_MS;
    while (!allComplete(last) && Date.now() < deadline) {
      await sleep(100);
      last = await statuses(final.url);
    }
    inLines += final.inLines();
    const effectsResponse = await fetch(`${final.url}/effects`, { signal: AbortSignal.timeout(10_000) });
    const effects = (await effectsResponse.text()).split("\n").filter(Boolean);

    const counts = new Map<string, number>();
    for (const line of effects) counts.set(line, (counts.get(line) ?? 0) + 1);
    let duplicates = 0;
    for (const [id, seed] of instances) {
      const status = last.get(id);
      if (status?.status !== "complete") problems.push(`${id}: ${JSON.stringify(status)} after the clean start`);
      else {
        const trail = [String(seed), ...STEPS].join(">");
        if (status.output?.trail !== trail) problems.push(`${id}: output ${JSON.stringify(status.output)}, expected trail ${trail}`);
      }
      for (const step of STEPS) {
        const n = counts.get(`${id} ${step}`) ?? 0;
        if (n !== 1) problems.push(`${id}: side effect of step "${step}" recorded ${n}×`);
        if (n > 1) duplicates += n - 1;
        counts.delete(`${id} ${step}`);
      }
    }
    for (const [line, n] of counts) problems.push(`unexpected side effect ${JSON.stringify(line)} (${n}×)`);

    console.log(
      `[workflow crash] ${kills} SIGKILLs mid-step (${cutOff} step functions under way at the kills) + 1 clean start, ` +
        `${generation} processes in ${((Date.now() - started) / 1000).toFixed(1)} s · ${instances.size} instances × ${STEPS.length} steps, ` +
        `${inLines} step attempts started (${instances.size * (STEPS.length + 1)} without kills) · ` +
        `${effects.length} side-effect lines, ${duplicates} duplicates · ` +
        `statuses: ${JSON.stringify(Object.fromEntries(Object.entries(Object.groupBy(last.values(), (s) => s.status)).map(([k, v]) => [k, v?.length])))}`,
    );
    final.proc.kill("SIGTERM");
    const finalExit = await final.exited;
    if (problems.length > 0) {
      const stuck = [...instances.keys()].filter((id) => last.get(id)?.status !== "complete");
      console.log(`[workflow crash] post-mortem:\n${postMortem(stuck, history)}\neffects.log:\n${effects.join("\n")}`);
    }
    expect(problems, `stderr of the last child:\n${final.stderr()}`).toEqual([]);
    expect(effects.length).toBe(instances.size * STEPS.length);
    expect(kills, `only ${kills} kills in ${generation - 1} rounds`).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(finalExit).toEqual({ code: 0, signal: null });
  });
});
