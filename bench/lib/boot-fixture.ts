/**
 * The data directory of the boot benchmark (bench/schedule-boot.ts): N hibernated `Backlog` agents
 * with 10 pending one-off schedules each, plus the host's due index. Building N agents through the
 * Host is slow (one new SQLite file costs ~5 ms on this disk), so one agent is made through a real
 * Host, the others are copies of its file with the identity row and the schedules' ids and times
 * rewritten, and the index rows are written in one transaction. The result is kept (gitignored) and
 * reused until its earliest schedule comes near.
 */
import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Host, getAgentByName, type AgentNamespace } from "../../dist/index.js";
import { DueIndex } from "../../dist/schedule/due-index.js";
import { agentFilePath } from "../../dist/storage/agent-file.js";
import { BENCH_DIR, log } from "./common.ts";
import { Backlog } from "./time-agents.ts";

export const SLUG = "backlog";
const DAY_MS = 86_400_000;
/** Schedules are due 7 to 30 days after the build; the fixture is rebuilt after 6 days. */
const FIRST_DUE_DAYS = 7;
const SPAN_DAYS = 23;
const STALE_AFTER_MS = 6 * DAY_MS;
/** Bump when the layout changes, so an old fixture is rebuilt. */
const FORMAT = 1;

/** Changes with the built code that writes agent files and schedules, so a schema change rebuilds the fixture. */
function codeVersion(): string {
  const hash = createHash("sha256");
  for (const file of ["storage/database.js", "schedule/task-store.js"]) hash.update(readFileSync(join(BENCH_DIR, "..", "dist", file)));
  return hash.digest("hex").slice(0, 16);
}

export interface FixtureInfo {
  format: number;
  /** {@link codeVersion} of the build that made it. */
  code: string;
  agents: number;
  perAgent: number;
  builtAt: number;
  /** Seconds: the template through the Host, the copies, the index. */
  buildSeconds: { template: number; copies: number; index: number };
  /** Ids of the template agent's schedules, in due order (rewritten in every copy). */
  templateIds: string[];
}

export const agentName = (i: number): string => `backlog-${i}`;

/** When schedule `j` of agent `i` is due: the N×perAgent times spread evenly, one band per j. */
function dueAt(info: Pick<FixtureInfo, "agents" | "perAgent" | "builtAt">, i: number, j: number): number {
  const step = (SPAN_DAYS * DAY_MS) / (info.agents * info.perAgent);
  return info.builtAt + FIRST_DUE_DAYS * DAY_MS + Math.floor((j * info.agents + i) * step);
}

const infoPath = (dir: string) => join(dir, "fixture.json");

/** The fixture in `dir` if it is there, complete, of this shape and not about to come due. */
export function existingFixture(dir: string, agents: number, perAgent: number): FixtureInfo | undefined {
  if (!existsSync(infoPath(dir))) return undefined;
  const info = JSON.parse(readFileSync(infoPath(dir), "utf8")) as FixtureInfo;
  const fresh = Date.now() < info.builtAt + STALE_AFTER_MS;
  return info.format === FORMAT && info.code === codeVersion() && info.agents === agents && info.perAgent === perAgent && fresh ? info : undefined;
}

/**
 * Writes agent `i`'s file: a copy of the template with its own identity and schedules. With
 * `overdueFirst`, its first schedule is due `overdueFirst` ms in the past instead.
 */
export function writeAgent(dir: string, info: FixtureInfo, template: string, i: number, overdueFirst?: number): void {
  const path = agentFilePath(dir, SLUG, agentName(i));
  mkdirSync(dirname(path), { recursive: true });
  for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
  copyFileSync(template, path);
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF; BEGIN");
    db.prepare("UPDATE _hearth_meta SET value = ? WHERE key = 'identity'").run(`${SLUG}/${agentName(i)}`);
    const update = db.prepare("UPDATE _hearth_schedules SET id = ?, due_at = ? WHERE id = ?");
    for (const [j, id] of info.templateIds.entries()) {
      const at = j === 0 && overdueFirst !== undefined ? Date.now() - overdueFirst : dueAt(info, i, j);
      if (update.run(randomUUID(), at, id).changes !== 1) throw new Error(`template schedule ${id} not found in ${path}`);
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** The template: agent 0, made through a real Host, closed (so its file has no -wal left); kept as template.sqlite. */
async function makeTemplate(dir: string, info: FixtureInfo): Promise<string> {
  const host = new Host({ dataDir: dir, agents: { Backlog } });
  try {
    const stub = await getAgentByName(host.env.Backlog as AgentNamespace<Backlog>, agentName(0));
    const times = Array.from({ length: info.perAgent }, (_, j) => dueAt(info, 0, j));
    info.templateIds = await stub.plant(times);
  } finally {
    await host.close();
  }
  const path = agentFilePath(dir, SLUG, agentName(0));
  if (existsSync(`${path}-wal`)) throw new Error("the template agent's -wal file survived host.close()");
  return path;
}

/** Builds the fixture in `dir` (emptied first). */
export async function buildFixture(dir: string, agents: number, perAgent: number): Promise<FixtureInfo> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const info: FixtureInfo = {
    format: FORMAT,
    code: codeVersion(),
    agents,
    perAgent,
    builtAt: Date.now(),
    buildSeconds: { template: 0, copies: 0, index: 0 },
    templateIds: [],
  };
  let start = performance.now();
  const template = join(dir, "template.sqlite");
  copyFileSync(await makeTemplate(dir, info), template);
  info.buildSeconds.template = (performance.now() - start) / 1000;

  start = performance.now();
  for (let i = 1; i < agents; i++) {
    writeAgent(dir, info, template, i);
    if (i % 10_000 === 0) log(`fixture: ${i.toLocaleString("en-US")} agent files, ${((performance.now() - start) / 1000).toFixed(0)} s`);
  }
  info.buildSeconds.copies = (performance.now() - start) / 1000;

  start = performance.now();
  const index = new DueIndex(join(dir, "host.sqlite"), "relaxed");
  try {
    const entries = (function* () {
      for (let i = 0; i < agents; i++) yield { slug: SLUG, name: agentName(i), at: dueAt(info, i, 0) };
    })();
    index.lowerMany(entries);
    if (index.size !== agents) throw new Error(`the due index has ${index.size} rows, expected ${agents}`);
  } finally {
    index.close();
  }
  info.buildSeconds.index = (performance.now() - start) / 1000;
  writeFileSync(infoPath(dir), JSON.stringify(info, null, 2));
  return info;
}

/**
 * Makes agents `due` overdue: their first schedule is due a second ago, and so is their index entry.
 * Rewrites their files from the template each time, so the runs of an earlier boot leave no trace.
 */
export function makeOverdue(dir: string, info: FixtureInfo, due: readonly number[]): void {
  const template = join(dir, "template.sqlite");
  for (const i of due) writeAgent(dir, info, template, i, 1_000);
  const index = new DueIndex(join(dir, "host.sqlite"), "relaxed");
  try {
    index.lowerMany(due.map((i) => ({ slug: SLUG, name: agentName(i), at: Date.now() - 1_000 })));
  } finally {
    index.close();
  }
}
