import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { TaskRef } from "./types.ts";

/** A run that started and never finished: the process died under it. */
export interface UnfinishedRun {
  slug: string;
  name: string;
  ref: TaskRef;
}

/** Bytes after which the journal is compacted. */
const COMPACT_AT = 4 * 1024 * 1024;

/**
 * The crash detector of scheduled work: one line is appended before a task's callback runs and one
 * after it finished. A write lands in the OS page cache at once, so it survives a process crash
 * (not a power loss, which is not what crash loops are made of) at the cost of a system call — far
 * cheaper than committing a "started" mark in the agent's database before every run. At boot, runs
 * with a start and no finish are the ones that crashed the process; the crash-loop breaker counts
 * them. A graceful shutdown (the host closing) writes an interrupted line for each run still going:
 * such a run is no crash, so the breaker does not count it; its task, still due, runs again after
 * the restart.
 */
export class RunJournal {
  readonly #path: string;
  #fd: number;
  #closed = false;
  #size = 0;
  #next = 1;
  readonly #open = new Map<number, string>();
  /** Finish lines wait for the end of the turn and go out in one write: a lost one only over-counts. */
  #finishes: number[] = [];

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, "a");
  }

  /** Reads what the last process left unfinished and empties the journal. */
  static recover(path: string): UnfinishedRun[] {
    if (!existsSync(path)) return [];
    const started = new Map<string, UnfinishedRun>();
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (line.startsWith("S ")) {
        const space = line.indexOf(" ", 2);
        try {
          const [slug, name, kind, id] = JSON.parse(line.slice(space + 1)) as [string, string, TaskRef["kind"], string];
          started.set(line.slice(2, space), { slug, name, ref: { kind, id } });
        } catch {
          // a line torn by the crash: its run never started its callback
        }
      } else if (line.startsWith("F ") || line.startsWith("I ")) {
        started.delete(line.slice(2));
      }
    }
    const fd = openSync(path, "a");
    ftruncateSync(fd, 0);
    closeSync(fd);
    return [...started.values()];
  }

  /** Before the callback runs. Returns the token for {@link finished}. */
  started(slug: string, name: string, ref: TaskRef): number {
    const token = this.#next++;
    if (this.#closed) return token;
    const line = `S ${token} ${JSON.stringify([slug, name, ref.kind, ref.id])}\n`;
    this.#open.set(token, line);
    this.#append(line);
    return token;
  }

  /** The run ended: finished, failed and recorded, or given up on as hung. */
  finished(token: number): void {
    if (!this.#open.delete(token)) return;
    this.#finishes.push(token);
    if (this.#finishes.length === 1) setImmediate(this.#flush);
  }

  /**
   * The host is shutting down: runs still going are written as interrupted (not crashed), so that a
   * deploy during a long callback does not count towards the crash-loop breaker.
   */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    if (this.#open.size > 0) this.#append([...this.#open.keys()].map((token) => `I ${token}\n`).join(""));
    this.#open.clear();
    this.#closed = true;
    closeSync(this.#fd);
  }

  readonly #flush = (): void => {
    // A run that ends after the host closed (a callback still going at close) is not written: it was
    // written as interrupted at close.
    if (this.#finishes.length === 0 || this.#closed) return;
    this.#append(this.#finishes.map((token) => `F ${token}\n`).join(""));
    this.#finishes = [];
    if (this.#size >= COMPACT_AT) this.#compact();
  };

  #append(line: string): void {
    this.#size += writeSync(this.#fd, line);
  }

  /** Keeps only the runs still open: written aside, then renamed over the journal (atomic). */
  #compact(): void {
    const lines = [...this.#open.values()].join("");
    if (lines.length === 0) {
      ftruncateSync(this.#fd, 0);
      this.#size = 0;
      return;
    }
    const aside = `${this.#path}.compact`;
    const fd = openSync(aside, "w");
    writeSync(fd, lines);
    closeSync(fd);
    renameSync(aside, this.#path);
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, "a");
    this.#size = Buffer.byteLength(lines);
  }
}
