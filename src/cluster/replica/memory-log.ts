import { FencedError, type ActorHistory, type LogAppender, type LogEntry } from "../log.ts";

interface ActorLog {
  epoch: number;
  head: number;
  /** The latest snapshot and every entry after it; older entries are compacted away. */
  entries: LogEntry[];
}

/**
 * An agent log kept in this process's memory, with the same rules as the Postgres one: an append
 * under an epoch other than the actor's current one is refused with {@link FencedError}, seqs only
 * grow, a snapshot makes the entries before it unnecessary (they are dropped). For tests and
 * single-process demos: it lives and dies with the process.
 *
 * `hold()` keeps appends waiting (a slow log) until `release()`.
 * @example
 * const log = new MemoryLog();
 * const { epoch, startSeq } = log.claim("counter/a");
 * const replication = replicate({ actorId: "counter/a", epoch, startSeq, appender: log });
 */
export class MemoryLog implements LogAppender {
  readonly #actors = new Map<string, ActorLog>();
  #held: Array<{ entry: LogEntry; settle: (error?: Error) => void }> | undefined;
  #appends = 0;

  /** Appends accepted so far (all actors). */
  get appends(): number {
    return this.#appends;
  }

  append(entry: LogEntry): Promise<void> {
    const copy = { ...entry, payload: Uint8Array.from(entry.payload) };
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => (error === undefined ? resolve() : reject(error));
      if (this.#held !== undefined) this.#held.push({ entry: copy, settle });
      else settle(this.#write(copy));
    });
  }

  /**
   * A new owner takes the actor: its epoch goes up (older owners are fenced from now on) and an
   * `epoch_start` marker claims the next seq. Returns what the owner passes to `replicate`.
   */
  claim(actorId: string): { epoch: number; startSeq: number } {
    const actor = this.#actor(actorId);
    actor.epoch += 1;
    actor.head += 1;
    actor.entries.push({ actorId, seq: actor.head, epoch: actor.epoch, kind: "epoch_start", payload: new Uint8Array() });
    return { epoch: actor.epoch, startSeq: actor.head };
  }

  /** Another node took the actor over: the current owner's appends are refused from now on. Returns the new epoch. */
  fence(actorId: string): number {
    return this.claim(actorId).epoch;
  }

  /** What a new owner reads to rebuild the actor's file. */
  history(actorId: string): ActorHistory {
    const actor = this.#actors.get(actorId);
    if (actor === undefined) return { changesets: [], head: 0 };
    const history: ActorHistory = { changesets: [], head: actor.head };
    for (const entry of actor.entries) {
      if (entry.kind === "snapshot") history.snapshot = { seq: entry.seq, image: entry.payload };
      else if (entry.kind === "changeset") history.changesets.push({ seq: entry.seq, payload: entry.payload });
    }
    return history;
  }

  /** The actor's entries from its latest snapshot on (markers included), oldest first. */
  entries(actorId: string): readonly LogEntry[] {
    return [...(this.#actors.get(actorId)?.entries ?? [])];
  }

  /** Appends wait from now on, until {@link release}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Writes the waiting appends, in arrival order, and stops holding. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const { entry, settle } of held) settle(this.#write(entry));
  }

  /** Appends waiting in {@link hold}. */
  get waiting(): number {
    return this.#held?.length ?? 0;
  }

  #write(entry: LogEntry): Error | undefined {
    const actor = this.#actor(entry.actorId);
    if (entry.epoch !== actor.epoch) return new FencedError(entry.actorId, entry.epoch);
    if (!(entry.seq > actor.head)) {
      return new Error(`${entry.actorId}: seq ${entry.seq} is not after the log's head ${actor.head} (an entry may be written once)`);
    }
    actor.head = entry.seq;
    if (entry.kind === "snapshot") actor.entries = [];
    actor.entries.push(entry);
    this.#appends++;
    return undefined;
  }

  #actor(actorId: string): ActorLog {
    let actor = this.#actors.get(actorId);
    if (actor === undefined) {
      actor = { epoch: 0, head: 0, entries: [] };
      this.#actors.set(actorId, actor);
    }
    return actor;
  }
}
