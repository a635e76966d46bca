import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { RUNTIME } from "../agent/runtime.ts";
import type { Actor } from "./actor.ts";
import type { AgentBinding } from "./cell.ts";
import type { FacetTreeReplication } from "./host-options.ts";
import { childPlace, childrenDir, placeIdentity, type CellPlace } from "./place.ts";

/** What a child is an instance of, from its creator (a facet's startup options). */
export interface ChildSpec {
  /** A registered class (binding name): kept in the child's file, so a due alarm can wake it without its parent. */
  readonly className: string;
  /** How to make the instance when the class is not a registered one (code loaded at run time). */
  readonly create?: AgentBinding["create"];
  /** The child's id: a string (its name) or an id object with `toString()` and maybe `name`. */
  readonly id?: unknown;
}

/** A parent's children (facets): each its own actor with its own database, in the parent's directory. */
export interface ChildActors {
  /**
   * Runs `task` on the child `name`; if it is not running, `spec()` says what to start (and runs only
   * then). Fails with the abort reason when the child was aborted or deleted after `generation`.
   */
  deliver<T>(name: string, generation: number, spec: () => ChildSpec | Promise<ChildSpec>, task: (actor: Actor) => T | Promise<T>): Promise<T>;
  /** Stubs remember this; abort, delete and clone move it on. */
  generation(name: string): number;
  /**
   * A stub of the child `name` was made; `holder` is what the stub and every method taken from it
   * keep (its delivery, with the generation it saw): the child's record lives while any holder does.
   */
  stubMade(name: string, holder: object): void;
  /**
   * Stops the running child (and its children); its data stays. Later calls through older stubs throw
   * `reason`. Their WebSockets close with `closeReason` (1001), or stay open for their next frame to
   * start the child again when it is null.
   */
  abort(name: string, reason: unknown, closeReason?: string | null): void;
  /** Aborts the child and deletes its data and its children's. */
  delete(name: string, closeReason?: string): void;
  /** Replaces `dst`'s data (and children) with a copy of `src`'s. */
  clone(src: string, dst: string): void;
  /** Whether the child has data on disk. */
  exists(name: string): boolean;
  /** Aborts and deletes every child (the parent's storage is being wiped). */
  deleteAll(): void;
}

/** What the children of one parent need from the host. */
export interface ChildrenHost {
  /** The running cell at a place, if any. */
  live(place: CellPlace): { readonly idle: boolean; instance: Actor; flush(): void; deliver<T>(task: () => T | Promise<T>): Promise<T> } | undefined;
  /** Starts the cell at a place for a spec. */
  start(place: CellPlace, spec: ChildSpec): void;
  /**
   * Closes the running cells at a place and under it; what they had queued fails with `reason`. Their
   * WebSockets close with `closeReason` (default "Facet stopped"), or stay open when it is null.
   */
  stopTree(place: CellPlace, reason: unknown, closeReason?: string | null): void;
  /** The schedule index forgets a place and everything under it. */
  forgetTree(place: CellPlace): void;
  /** The schedule index learns what a copied place's file asks for (its alarm, its tasks). */
  indexPlace(place: CellPlace): void;
  /** The places of the running cells directly under `place` (their files are locked: read names from here). */
  liveChildren(place: CellPlace): CellPlace[];
  /** Files under `parent` were removed or copied beside the databases: a replica must learn it (a cluster). */
  treeChanged?(parent: CellPlace, change: FacetTreeChange): void;
  /** The parent's record keeps nothing any more ({@link Children.unused}): the host may drop it if the parent left memory. */
  unused?(parent: CellPlace): void;
}

/** A change to a parent's facet files made outside their databases. */
export type FacetTreeChange =
  /** The facet at this place and every facet below it were deleted. */
  | { removed: CellPlace }
  /** The tree at the first place was replaced by a copy: these places (parents first) now have files. */
  | { replaced: CellPlace; copied: CellPlace[] };

interface ChildState {
  generation: number;
  reason: unknown;
  starting: Promise<void> | undefined;
  /** The generation whose call made {@link starting}. */
  startingGeneration: number;
  /** Rejected by abort/delete: fails the calls running on the child. */
  stop: StopSignal | undefined;
  /** Deliveries in progress. */
  pending: number;
}

interface StopSignal {
  promise: Promise<never>;
  reject(reason: unknown): void;
  /** Calls racing it now. */
  calls: number;
}

const META_CLASS = "facet-class";
const META_ID = "facet-id";

/** The children of one parent place; kept by the host per parent (it outlives the parent's hibernation). */
export class Children implements ChildActors {
  readonly #parent: CellPlace;
  readonly #host: ChildrenHost;
  readonly #states = new Map<string, ChildState>();
  /**
   * Stubs alive per child name, whatever generation they saw: an aborted or deleted name's record
   * (its generation and reason) is kept only while one is, not for the life of the host.
   */
  readonly #stubs = new Map<string, number>();
  readonly #collected = new FinalizationRegistry<string>((name) => this.#stubGone(name));

  constructor(parent: CellPlace, host: ChildrenHost) {
    this.#parent = parent;
    this.#host = host;
  }

  generation(name: string): number {
    return this.#states.get(name)?.generation ?? 0;
  }

  /** Children whose record (generation, abort reason) is kept now (tests: it must not grow with names used once). */
  get records(): number {
    return this.#states.size;
  }

  stubMade(name: string, holder: object): void {
    this.#stubs.set(name, (this.#stubs.get(name) ?? 0) + 1);
    this.#collected.register(holder, name);
  }

  #stubGone(name: string): void {
    const left = (this.#stubs.get(name) ?? 1) - 1;
    if (left > 0) return void this.#stubs.set(name, left);
    this.#stubs.delete(name);
    this.#forgetIfUnused(name);
  }

  /** No call runs on the child and no stub could see its generation: its record goes (a missing one reads as generation 0). */
  #forgetIfUnused(name: string): void {
    const state = this.#states.get(name);
    if (state !== undefined && state.pending === 0 && !this.#stubs.has(name)) this.#states.delete(name);
    this.#tellIfUnused();
  }

  /** Nothing of the children is kept here: no record, no stub (a fresh object would behave the same). */
  get unused(): boolean {
    return this.#states.size === 0 && this.#stubs.size === 0;
  }

  #tellIfUnused(): void {
    if (this.unused) this.#host.unused?.(this.#parent);
  }

  async deliver<T>(name: string, generation: number, spec: () => ChildSpec | Promise<ChildSpec>, task: (actor: Actor) => T | Promise<T>): Promise<T> {
    const state = this.#state(name);
    const place = childPlace(this.#parent, name);
    state.pending++;
    try {
      for (;;) {
        if (state.generation !== generation) throw state.reason;
        const cell = this.#host.live(place);
        if (cell) return await whileCurrent(state, cell.deliver(() => task(cell.instance)));
        if (!state.starting) {
          const starting: Promise<void> = (async () => {
            const resolved = await spec();
            if (state.generation !== generation) throw state.reason;
            // A parent deleted while one of its events still ran must not bring its children's files back.
            if (!existsSync(this.#parent.file)) throw new Error(`Cannot start the facet "${name}": its parent was deleted.`);
            if (!this.#host.live(place)) this.#host.start(place, resolved);
          })().finally(() => {
            if (state.starting === starting) state.starting = undefined;
          });
          state.starting = starting;
          state.startingGeneration = generation;
        }
        const startedBy = state.startingGeneration;
        try {
          await state.starting;
        } catch (error) {
          // A start made for an older generation (aborted since) failed with its abort: this call, of
          // the current one, starts the child again with its own spec.
          if (startedBy !== generation && state.generation === generation) continue;
          throw error;
        }
      }
    } finally {
      // A child never aborted needs no record between calls (a missing one reads as generation 0),
      // nor one no stub could look at: a parent's hibernated or deleted children cost it no memory.
      if (--state.pending === 0 && this.#states.get(name) === state && (state.generation === 0 || !this.#stubs.has(name))) {
        this.#states.delete(name);
        this.#tellIfUnused();
      }
    }
  }

  abort(name: string, reason: unknown, closeReason?: string | null): void {
    const state = this.#state(name);
    state.generation++;
    state.reason = reason;
    state.stop?.reject(reason);
    state.stop = undefined;
    this.#host.stopTree(childPlace(this.#parent, name), reason, closeReason);
    this.#forgetIfUnused(name);
  }

  /**
   * The child destroyed itself (the host removed its files): calls through older stubs fail as after
   * {@link delete} instead of making it again, empty and unlisted. The call that destroyed it, still
   * running, ends as it will.
   */
  destroyed(name: string): void {
    if (!this.#stubs.has(name) && !this.#states.has(name)) return; // no stub saw it: nothing to tell
    const state = this.#state(name);
    state.generation++;
    state.reason = new Error("Facet was deleted.");
    this.#forgetIfUnused(name);
  }

  delete(name: string, closeReason?: string): void {
    this.abort(name, new Error("Facet was deleted."), closeReason);
    const place = childPlace(this.#parent, name);
    removePlaceFiles(place);
    this.#host.forgetTree(place);
    removeIfEmpty(childrenDir(this.#parent));
    this.#host.treeChanged?.(this.#parent, { removed: place });
  }

  clone(src: string, dst: string): void {
    if (src === dst) {
      this.abort(dst, new Error("Facet was cloned-over."));
      return;
    }
    const from = childPlace(this.#parent, src);
    const to = childPlace(this.#parent, dst);
    this.abort(dst, new Error("Facet was cloned-over."));
    removePlaceFiles(to);
    this.#host.forgetTree(to);
    if (!existsSync(from.file)) {
      this.#host.treeChanged?.(this.#parent, { removed: to });
      return;
    }
    // Running cells of the source commit first; the copy is taken in one synchronous step, so no write
    // of this process lands half-way (and the file lock keeps other processes out).
    for (const place of placesUnder(from, this.#host)) this.#host.live(place)?.flush();
    copyPlace(from, to, this.#host);
    const copied = [...placesUnder(to, this.#host)];
    // The copies' alarms and schedules are due without anything waking them first, as the source's were.
    for (const place of copied) this.#host.indexPlace(place);
    this.#host.treeChanged?.(this.#parent, { replaced: to, copied });
  }

  exists(name: string): boolean {
    return existsSync(childPlace(this.#parent, name).file);
  }

  deleteAll(): void {
    for (const name of new Set([...this.#states.keys(), ...childNamesOf(this.#parent, this.#host)])) this.delete(name);
    rmSync(childrenDir(this.#parent), { recursive: true, force: true });
  }

  #state(name: string): ChildState {
    let state = this.#states.get(name);
    if (!state) this.#states.set(name, (state = { generation: 0, reason: undefined, starting: undefined, startingGeneration: 0, stop: undefined, pending: 0 }));
    return state;
  }
}

/**
 * The {@link Children} of each parent, by the parent's key: made at the parent's first use of them,
 * kept across its hibernation while they hold anything (an aborted child's generation a stub may
 * still see), dropped once they hold nothing and the parent is out of memory, and with the parent
 * when it is destroyed: a host that sees many parents come and go does not keep one per parent.
 */
export class ChildrenRecords {
  readonly #byParent = new Map<string, Children>();
  readonly #host: ChildrenHost;
  readonly #isLive: (key: string) => boolean;

  constructor(host: ChildrenHost, keyOf: (place: CellPlace) => string, isLive: (key: string) => boolean) {
    this.#isLive = isLive;
    this.#host = { ...host, unused: (parent) => this.left(keyOf(parent)) };
  }

  of(key: string, place: CellPlace): Children {
    let children = this.#byParent.get(key);
    if (!children) this.#byParent.set(key, (children = new Children(place, this.#host)));
    return children;
  }

  get(key: string): Children | undefined {
    return this.#byParent.get(key);
  }

  /** The parent is out of memory (or its record just emptied): its record goes if it holds nothing. */
  left(key: string): void {
    if (this.#byParent.get(key)?.unused && !this.#isLive(key)) this.#byParent.delete(key);
  }

  /** The parent was destroyed: its record and its descendants' go (their stubs fail on the missing parent file). */
  removedTree(key: string): void {
    for (const other of this.#byParent.keys()) if (other === key || other.startsWith(key + "\0")) this.#byParent.delete(other);
  }
}

/** Tells a replica of a change to facet files (undefined when there is no replica). */
export function replicateTreeChange(trees: FacetTreeReplication | undefined, change: FacetTreeChange): Promise<void> | undefined {
  if (trees === undefined) return undefined;
  if ("removed" in change) return trees.removed(placeIdentity(change.removed));
  return trees.copied(
    placeIdentity(change.replaced),
    change.copied.map((place) => ({ identity: placeIdentity(place), file: place.file })),
  );
}

/** How to start a child from a spec: the binding the cell gets (recording the spec in the child's file), its name and id. */
export function childStart(place: CellPlace, spec: ChildSpec, registered: AgentBinding | undefined): { binding: AgentBinding; name: string; childId?: unknown } {
  const create = spec.create ?? registered?.create;
  if (!create) throw new TypeError(`A facet's class must be a class of this worker; "${spec.className}" is not one`);
  const binding: AgentBinding = {
    className: spec.className,
    slug: place.rootSlug,
    create: (ctx, env) => {
      writeChildMeta(ctx[RUNTIME].db, spec);
      return create(ctx, env);
    },
  };
  return { binding, name: childName(spec.id, place.path.at(-1)!), childId: spec.id };
}

/** What a child's file says it is, as a spec to start it by (without its parent). */
export function storedChildSpec(place: CellPlace): ChildSpec {
  const where = `The facet ${place.path.join("/")} of ${place.rootSlug}/${place.rootName}`;
  const meta = readChildMeta(place.file);
  if (!meta) throw new Error(`${where} does not exist`);
  if (meta.className === "") throw new Error(`${where} runs code loaded at run time: it starts again when its parent reaches it`);
  return { className: meta.className, id: meta.id };
}

/** Records what a child is, in its own file, for wakes without its parent. */
export function writeChildMeta(db: { statement(sql: string): { run(...args: unknown[]): unknown; get(...args: unknown[]): unknown } }, spec: ChildSpec): void {
  const write = (key: string, value: string): void => {
    const row = db.statement("SELECT value FROM _hearth_meta WHERE key = ?").get(key) as { value: string } | undefined;
    if (row?.value !== value) db.statement("INSERT OR REPLACE INTO _hearth_meta (key, value) VALUES (?, ?)").run(key, value);
  };
  write(META_CLASS, spec.create ? "" : spec.className);
  write(META_ID, JSON.stringify(describeId(spec.id)));
}

/** What a child's file says it is: its registered class (empty when its code was loaded at run time) and id. */
export function readChildMeta(file: string): { className: string; id: unknown } | undefined {
  if (!existsSync(file)) return undefined;
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const read = (key: string): string | undefined =>
      (db.prepare("SELECT value FROM _hearth_meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
    const className = read(META_CLASS);
    if (className === undefined) return undefined;
    const id = JSON.parse(read(META_ID) ?? "null") as { hex?: string; name?: string } | string | null;
    return { className, id: id ?? undefined };
  } finally {
    db.close();
  }
}

/** The name a child's actor goes by: its string id, its id's name, or else its child name. */
export function childName(id: unknown, fallback: string): string {
  if (typeof id === "string") return id;
  const described = describeId(id);
  if (typeof described === "object" && described !== null) return described.name ?? described.hex ?? fallback;
  return fallback;
}

function describeId(id: unknown): { hex?: string; name?: string } | string | null {
  if (id === undefined || id === null) return null;
  if (typeof id === "string") return id;
  if (typeof id === "object" && "hex" in id) return id as { hex?: string; name?: string };
  const name = (id as { name?: unknown }).name;
  return { hex: String(id), ...(typeof name === "string" ? { name } : {}) };
}

/**
 * The result of a call on the child; a call still running when the child is aborted or deleted fails
 * at once with the reason, as the queued ones do (what it does afterwards is lost with the instance).
 */
async function whileCurrent<T>(state: ChildState, result: Promise<T>): Promise<T> {
  const stop = (state.stop ??= stopSignal());
  stop.calls++;
  try {
    return await Promise.race([result, stop.promise]);
  } finally {
    // Only while calls run: an idle child keeps nothing but its generation.
    if (--stop.calls === 0 && state.stop === stop) state.stop = undefined;
  }
}

function stopSignal(): StopSignal {
  let reject!: (reason: unknown) => void;
  const promise = new Promise<never>((_resolve, fail) => (reject = fail));
  promise.catch(() => {}); // the calls racing it see the reason; nobody else waits on it
  return { promise, reject, calls: 0 };
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (other children) or already gone
  }
}

/** Deletes a place's file and its children's directory. */
export function removePlaceFiles(place: CellPlace): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(place.file + suffix, { force: true });
  rmSync(childrenDir(place), { recursive: true, force: true });
}

/** The names of a place's children that have files (running ones from the host, others from each file's identity). */
function childNamesOf(place: CellPlace, host: Pick<ChildrenHost, "liveChildren">): string[] {
  const dir = childrenDir(place);
  if (!existsSync(dir)) return [];
  const live = new Map(host.liveChildren(place).map((child) => [child.file, child.path.at(-1)!]));
  const names = [...live.values()];
  for (const entry of readdirSync(dir)) {
    if (!entry.endsWith(".sqlite") || live.has(join(dir, entry))) continue;
    const db = new DatabaseSync(join(dir, entry), { readOnly: true });
    try {
      const identity = (db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get() as { value: string } | undefined)?.value;
      const name = identity?.split("\0").at(-1);
      if (name !== undefined) names.push(name);
    } finally {
      db.close();
    }
  }
  return names;
}

/** The place and every place under it that has a file. */
function* placesUnder(place: CellPlace, host: Pick<ChildrenHost, "liveChildren">): Generator<CellPlace> {
  yield place;
  for (const name of childNamesOf(place, host)) yield* placesUnder(childPlace(place, name), host);
}

/** Copies a place's file and its children's, rewriting each copy's identity for where it now lives. */
function copyPlace(from: CellPlace, to: CellPlace, host: Pick<ChildrenHost, "liveChildren">): void {
  if (!existsSync(from.file)) return;
  mkdirSync(dirname(to.file), { recursive: true });
  copyFileSync(from.file, to.file);
  if (existsSync(from.file + "-wal")) copyFileSync(from.file + "-wal", to.file + "-wal");
  // The copy is made durable here, and its "unsettled" stamp (storage/agent-file-setup.ts) cleared:
  // a stamp copied from a file not yet settled would have the copy emptied after a power loss.
  for (const file of [to.file, to.file + "-wal", dirname(to.file)]) syncFile(file);
  const db = new DatabaseSync(to.file); // synchronous = FULL: these writes are synced at commit
  try {
    db.prepare("UPDATE _hearth_meta SET value = ? WHERE key = 'identity'").run(placeIdentity(to));
    db.exec("PRAGMA application_id = 0");
  } finally {
    db.close();
  }
  for (const name of childNamesOf(from, host)) copyPlace(childPlace(from, name), childPlace(to, name), host);
}

function syncFile(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
