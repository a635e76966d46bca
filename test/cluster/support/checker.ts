/**
 * An Elle-style list-append checker (cluster.md §5). Each key (an agent) holds a list; clients append
 * unique values and read the whole list. Because every value is unique and lists only grow, each read
 * names the exact version it saw, so checking is a few linear passes per key instead of a search.
 */

/** `ok`: it happened. `fail`: it surely did not happen. `info`: unknown (a timeout, a reset after sending). */
export type OpOutcome = "ok" | "fail" | "info";

/** One operation of a history, as a client saw it. Times are from one monotonic clock (performance.now()). */
export interface ListAppendOp {
  readonly key: string;
  readonly type: "append" | "read";
  /** The appended value: unique per key, compared with SameValueZero (use strings or numbers). */
  readonly value?: unknown;
  readonly invokedAt: number;
  readonly completedAt: number;
  readonly outcome: OpOutcome;
  /** The list an `ok` read returned. */
  readonly result?: readonly unknown[];
}

/** The list of each key read after the run, when everything has settled. */
export type FinalLists = ReadonlyMap<string, readonly unknown[]> | Readonly<Record<string, readonly unknown[]>>;

/** What can go wrong. One fault can show in several kinds (a lost value also makes later reads diverge). */
export type AnomalyKind =
  /** An `ok` append missing from the final list. */
  | "lost"
  /** A value more than once in the final list. */
  | "duplicated"
  /** A value in the final list or a read that no append ever attempted. */
  | "phantom"
  /** An append recorded as `fail` (surely not done) whose value is in the final list or a read. */
  | "failedApplied"
  /** An `info` or `fail` append observed by a read but missing from the final list. */
  | "vanished"
  /** An `ok` read that is not a prefix of the final list. */
  | "divergent"
  /** An `ok` read that misses an append acknowledged, or a value read, before it was invoked. */
  | "staleReads"
  /** An append placed before an append acknowledged (or a value read) before it was invoked. */
  | "reordered";

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  "lost",
  "duplicated",
  "phantom",
  "failedApplied",
  "vanished",
  "divergent",
  "staleReads",
  "reordered",
];

export interface ListAppendCounts extends Readonly<Record<AnomalyKind, number>> {
  readonly keys: number;
  readonly appends: number;
  /** `ok` reads checked. */
  readonly reads: number;
  /** `ok` appends found exactly once in the final list. */
  readonly ok: number;
  /** `info` appends that took effect / did not. */
  readonly infoApplied: number;
  readonly infoAbsent: number;
  /** Appends recorded as `fail`. */
  readonly failed: number;
}

export interface AnomalyExample {
  readonly key: string;
  readonly message: string;
}

export interface ListAppendReport {
  /** True when no anomaly was found. */
  readonly valid: boolean;
  /** Sum of the anomaly counts. */
  readonly anomalies: number;
  readonly counts: ListAppendCounts;
  /** The first examples of each kind (at most `examples` each, 5 by default). */
  readonly examples: Readonly<Record<AnomalyKind, readonly AnomalyExample[]>>;
}

/**
 * Checks a list-append history against the final list of every key it touches. Throws on a malformed
 * history (a repeated append value, a key without a final list, an `ok` read without a result, times
 * out of order): those are bugs of the test, not of the system under test.
 *
 * @example
 * const report = checkListAppend(recorder.history, { "agent-1": [1, 2, 3] });
 * console.log(formatReport(report));
 * expect(report.anomalies).toBe(0);
 */
export function checkListAppend(history: readonly ListAppendOp[], finals: FinalLists, options: { examples?: number } = {}): ListAppendReport {
  const finalOf = (key: string): readonly unknown[] | undefined =>
    finals instanceof Map ? finals.get(key) : (finals as Readonly<Record<string, readonly unknown[]>>)[key];
  const byKey = new Map<string, ListAppendOp[]>();
  for (const op of history) {
    validate(op);
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  const finalKeys = finals instanceof Map ? [...finals.keys()] : Object.keys(finals);
  for (const key of finalKeys) if (!byKey.has(key)) byKey.set(key, []);

  const tally = new Tally(options.examples ?? 5);
  for (const [key, ops] of byKey) {
    const final = finalOf(key);
    if (!Array.isArray(final)) throw new Error(`checkListAppend: no final list for key ${JSON.stringify(key)}`);
    checkKey(key, ops, final, tally);
  }
  tally.counts.keys = byKey.size;
  const anomalies = ANOMALY_KINDS.reduce((sum, kind) => sum + tally.counts[kind], 0);
  return { valid: anomalies === 0, anomalies, counts: { ...tally.counts }, examples: tally.examples };
}

class Tally {
  readonly counts: { -readonly [K in keyof ListAppendCounts]: number } = {
    keys: 0,
    appends: 0,
    reads: 0,
    ok: 0,
    infoApplied: 0,
    infoAbsent: 0,
    failed: 0,
    lost: 0,
    duplicated: 0,
    phantom: 0,
    failedApplied: 0,
    vanished: 0,
    divergent: 0,
    staleReads: 0,
    reordered: 0,
  };
  readonly examples = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, [] as AnomalyExample[]])) as Record<AnomalyKind, AnomalyExample[]>;
  readonly maxExamples: number;
  constructor(maxExamples: number) {
    this.maxExamples = maxExamples;
  }

  add(kind: AnomalyKind, key: string, message: () => string): void {
    this.counts[kind]++;
    const list = this.examples[kind];
    if (list.length < this.maxExamples) list.push({ key, message: message() });
  }
}

function checkKey(key: string, ops: readonly ListAppendOp[], final: readonly unknown[], tally: Tally): void {
  // Where each value sits in the final list (its first index).
  const position = new Map<unknown, number>();
  const duplicates = new Set<unknown>();
  final.forEach((value, index) => {
    if (!position.has(value)) position.set(value, index);
    else if (!duplicates.has(value)) {
      duplicates.add(value);
      tally.add("duplicated", key, () => `value ${show(value)} is in the final list more than once (again at index ${index})`);
    }
  });

  const appends = new Map<unknown, ListAppendOp>();
  for (const op of ops) {
    if (op.type !== "append") continue;
    if (appends.has(op.value)) {
      throw new Error(`checkListAppend: value ${show(op.value)} appended twice on key ${JSON.stringify(key)}; values must be unique per key`);
    }
    appends.set(op.value, op);
  }
  const reads = ops.filter((op) => op.type === "read" && op.outcome === "ok");
  tally.counts.appends += appends.size;
  tally.counts.reads += reads.length;

  // Values nobody attempted, and failed appends that took effect, in the final list or any read.
  const reported = new Set<unknown>();
  const observed = new Set<unknown>(); // values read but not in the final list
  const look = (value: unknown, where: () => string): void => {
    const append = appends.get(value);
    if (reported.has(value) || append?.outcome === "ok" || append?.outcome === "info") return;
    reported.add(value);
    if (!append) tally.add("phantom", key, () => `value ${show(value)} in ${where()} was never appended`);
    else tally.add("failedApplied", key, () => `value ${show(value)} in ${where()} was appended by an op recorded as failed ${span(append)}`);
  };
  // A read that is a prefix of the final list holds only values of the final list, checked once here;
  // only divergent reads need their values looked at one by one.
  const prefixes: ListAppendOp[] = [];
  for (const read of reads) {
    if (isPrefix(read.result!, final)) {
      prefixes.push(read);
      continue;
    }
    tally.add("divergent", key, () => `a read ${span(read)} returned ${showList(read.result!)}, not a prefix of the final list ${showList(final)}`);
    for (const value of read.result!) {
      if (!position.has(value)) observed.add(value);
      look(value, () => `a read ${span(read)}`);
    }
  }
  for (const value of final) look(value, () => "the final list");

  for (const append of appends.values()) {
    const present = position.has(append.value);
    if (append.outcome === "ok") {
      if (present) tally.counts.ok++;
      else tally.add("lost", key, () => `value ${show(append.value)} acknowledged ${span(append)} is not in the final list`);
    } else if (append.outcome === "info") {
      if (present) tally.counts.infoApplied++;
      else tally.counts.infoAbsent++;
    } else {
      tally.counts.failed++;
    }
    if (append.outcome !== "ok" && !present && observed.has(append.value)) {
      tally.add("vanished", key, () => `value ${show(append.value)} (${append.outcome} append ${span(append)}) was read but is not in the final list`);
    }
  }

  checkRealTime(key, appends, prefixes, position, tally);
}

/**
 * Real-time order in one sweep. Each completed op sets a floor: after an `ok` append at index p is
 * acknowledged, the list has at least p + 1 items; after a read of length n returns, at least n. An
 * op invoked later must see the floor: a read returns at least `floor` items, an append lands at an
 * index >= floor.
 */
function checkRealTime(
  key: string,
  appends: ReadonlyMap<unknown, ListAppendOp>,
  reads: readonly ListAppendOp[],
  position: ReadonlyMap<unknown, number>,
  tally: Tally,
): void {
  const completions: { at: number; floor: number; op: ListAppendOp }[] = [];
  const invocations: { at: number; op: ListAppendOp }[] = [];
  for (const append of appends.values()) {
    const index = position.get(append.value);
    if (index === undefined) continue;
    if (append.outcome === "ok") completions.push({ at: append.completedAt, floor: index + 1, op: append });
    invocations.push({ at: append.invokedAt, op: append });
  }
  for (const read of reads) {
    completions.push({ at: read.completedAt, floor: read.result!.length, op: read });
    invocations.push({ at: read.invokedAt, op: read });
  }
  completions.sort((a, b) => a.at - b.at);
  invocations.sort((a, b) => a.at - b.at);

  let next = 0;
  let floor = 0;
  let floorSetBy: ListAppendOp | undefined;
  for (const { at, op } of invocations) {
    // Strictly before: ops that overlap in time may be ordered either way.
    while (next < completions.length && completions[next]!.at < at) {
      const completion = completions[next++]!;
      if (completion.floor > floor) {
        floor = completion.floor;
        floorSetBy = completion.op;
      }
    }
    const cause = (): string => `${describe(floorSetBy!)} had completed before it (list length >= ${floor})`;
    if (op.type === "read" && op.result!.length < floor) {
      tally.add("staleReads", key, () => `a read ${span(op)} returned ${op.result!.length} items, but ${cause()}`);
    } else if (op.type === "append" && position.get(op.value)! < floor) {
      tally.add("reordered", key, () => `value ${show(op.value)} ${span(op)} is at index ${position.get(op.value)}, but ${cause()}`);
    }
  }
}

function validate(op: ListAppendOp): void {
  const where = `checkListAppend: ${op.type} on key ${JSON.stringify(op.key)}`;
  if (typeof op.key !== "string") throw new Error(`checkListAppend: an op's key must be a string, got ${show(op.key)}`);
  if (op.type !== "append" && op.type !== "read") throw new Error(`${where}: type must be "append" or "read"`);
  if (op.outcome !== "ok" && op.outcome !== "fail" && op.outcome !== "info") throw new Error(`${where}: outcome must be "ok", "fail" or "info", got ${show(op.outcome)}`);
  if (!Number.isFinite(op.invokedAt) || !Number.isFinite(op.completedAt) || op.completedAt < op.invokedAt) {
    throw new Error(`${where}: needs finite times with completedAt >= invokedAt, got ${op.invokedAt} → ${op.completedAt}`);
  }
  if (op.type === "append" && op.value === undefined) throw new Error(`${where}: an append needs a value`);
  if (op.type === "read" && op.outcome === "ok" && !Array.isArray(op.result)) throw new Error(`${where}: an ok read needs a result list`);
}

function isPrefix(read: readonly unknown[], final: readonly unknown[]): boolean {
  if (read.length > final.length) return false;
  for (let i = 0; i < read.length; i++) if (!sameValueZero(read[i], final[i])) return false;
  return true;
}

function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

function describe(op: ListAppendOp): string {
  return op.type === "append" ? `the append of ${show(op.value)} ${span(op)}` : `a read of ${op.result!.length} items ${span(op)}`;
}

function span(op: ListAppendOp): string {
  return `[${op.invokedAt.toFixed(1)}–${op.completedAt.toFixed(1)} ms]`;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function showList(list: readonly unknown[]): string {
  const shown = list.length > 8 ? [...list.slice(0, 3).map(show), "…", ...list.slice(-3).map(show)] : list.map(show);
  return `[${shown.join(", ")}] (${list.length})`;
}

const LABELS: Readonly<Record<AnomalyKind, string>> = {
  lost: "lost (ok appends missing from the final list)",
  duplicated: "duplicated (values more than once in the final list)",
  phantom: "phantom (values never appended)",
  failedApplied: "failedApplied (failed appends that took effect)",
  vanished: "vanished (read, then gone from the final list)",
  divergent: "divergent (reads not a prefix of the final list)",
  staleReads: "staleReads (reads missing what completed before them)",
  reordered: "reordered (appends placed before what completed before them)",
};

/**
 * The report as text for a test's output: a verdict line, the counts, then each anomaly kind found
 * with its first examples.
 *
 * @example
 * console.log(formatReport(checkListAppend(history, finals)));
 * // list-append check: VALID — 3 keys, 240 appends (230 ok, 6 info applied, 2 info absent, 2 failed), 120 reads
 */
export function formatReport(report: ListAppendReport): string {
  const c = report.counts;
  const verdict = report.valid ? "VALID" : `${report.anomalies} ANOMALIES`;
  const lines = [
    `list-append check: ${verdict} — ${c.keys} keys, ${c.appends} appends (${c.ok} ok, ${c.infoApplied} info applied, ` +
      `${c.infoAbsent} info absent, ${c.failed} failed), ${c.reads} reads`,
    `  ${ANOMALY_KINDS.map((kind) => `${kind} ${c[kind]}`).join(" · ")}`,
  ];
  for (const kind of ANOMALY_KINDS) {
    if (c[kind] === 0) continue;
    lines.push(`  ${LABELS[kind]}: ${c[kind]}`);
    for (const example of report.examples[kind]) lines.push(`    key ${JSON.stringify(example.key)}: ${example.message}`);
    const more = c[kind] - report.examples[kind].length;
    if (more > 0) lines.push(`    … and ${more} more`);
  }
  return lines.join("\n");
}
