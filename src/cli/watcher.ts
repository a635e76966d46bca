import { lstatSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { basename, extname, join, relative, sep } from "node:path";

/** What to watch and what to do on a change. */
export interface WatchOptions {
  /** Watched recursively, for changes to files with a {@link WATCHED_EXTENSIONS} extension. */
  dir: string;
  /** Absolute paths under `dir` to skip entirely (e.g. the data directory). */
  ignoreDirs: readonly string[];
  /** Extra files watched even when they are dotfiles or outside `dir` (e.g. `.env`). */
  files: readonly string[];
  /** Directories where a change to any file restarts (static assets: .html, .css, _headers …). */
  anyFileDirs?: readonly string[];
  /** Extensions watched besides {@link WATCHED_EXTENSIONS}: files the module rules load (`.html`, `.wasm`, …). */
  extensions?: readonly string[];
  /** Quiet period after the last event before `onChange` fires. */
  debounceMs: number;
  /** Called once per burst of changes with the absolute paths that changed (may be empty if unknown). */
  onChange(paths: string[]): void;
  /** Called if watching fails after it started. */
  onError(error: Error): void;
}

/** A running watcher. */
export interface Watcher {
  close(): void;
}

/**
 * Whether a path relative to the watched directory should not trigger a reload: anything inside
 * `node_modules`, `.hearth` or another dot-directory, dotfiles, and editor backup files (`name~`).
 */
export function isIgnoredPath(relativePath: string): boolean {
  const parts = relativePath.split(/[\\/]/);
  return parts.some((part) => part === "node_modules" || part.startsWith(".") || part.endsWith("~"));
}

/** Extensions of files whose change restarts the server: code and JSON, not logs or databases. */
export const WATCHED_EXTENSIONS: ReadonlySet<string> = new Set([
  ".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".json",
]);

/**
 * Whether a change to this file (relative to the watched directory) should restart the server: code,
 * JSON, and files with one of `extensions` (those the module rules import).
 */
export function isWatchedFile(relativePath: string, extensions: readonly string[] = []): boolean {
  const extension = extname(relativePath).toLowerCase();
  return !isIgnoredPath(relativePath) && (WATCHED_EXTENSIONS.has(extension) || extensions.includes(extension));
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Errors that only mean a directory went away (or was never readable) between seeing it and watching it. */
const GONE = new Set(["ENOENT", "ENOTDIR", "EACCES", "EPERM"]);

/** Called with the absolute path of an entry that changed, or undefined when the system did not say which. */
type TreeListener = (path: string | undefined) => void;

/**
 * Watches a directory tree, one non-recursive watch per directory. Directories are watched rather than
 * files, so a file an editor replaces (written to a temporary file and renamed over, deleted and
 * created again, `sed -i`, `git checkout`) keeps being reported at every later save: Node's recursive
 * watch on Linux loses a file once it is renamed over or recreated. A directory that appears is
 * watched (and its files reported: they may have been written before its watch began); one that
 * goes or is replaced is let go, or watched again.
 */
class TreeWatcher {
  readonly #dirs = new Map<string, { watcher: FSWatcher; ino: number }>();
  readonly #skipDir: (path: string) => boolean;
  readonly #onEntry: TreeListener;
  readonly #onError: (error: Error) => void;
  #closed = false;

  constructor(root: string, skipDir: (path: string) => boolean, onEntry: TreeListener, onError: (error: Error) => void) {
    this.#skipDir = skipDir;
    this.#onEntry = onEntry;
    this.#onError = onError;
    // The root must be watchable: that failure is the caller's.
    this.#add(root, { strict: true, report: false });
  }

  close(): void {
    this.#closed = true;
    for (const { watcher } of this.#dirs.values()) watcher.close();
    this.#dirs.clear();
  }

  /** Watches `dir` and the directories under it; with `report`, tells of every entry found there. */
  #add(dir: string, how: { strict: boolean; report: boolean }): void {
    if (this.#closed || this.#skipDir(dir)) return;
    let ino: number;
    let watcher: FSWatcher;
    try {
      ino = lstatSync(dir).ino;
      watcher = watch(dir, (_event, filename) => this.#event(dir, filename === null ? undefined : filename.toString()));
    } catch (error) {
      if (how.strict) throw error;
      if (!GONE.has((error as NodeJS.ErrnoException).code ?? "")) this.#onError(error as Error);
      return;
    }
    watcher.on("error", (error: NodeJS.ErrnoException) => {
      // A directory removed under its watch may report an error on some systems: it is simply let go.
      if (this.#dirs.get(dir)?.watcher === watcher) this.#remove(dir);
      if (!this.#closed && !GONE.has(error.code ?? "")) this.#onError(error);
    });
    this.#dirs.get(dir)?.watcher.close();
    this.#dirs.set(dir, { watcher, ino });
    // Listed after the watch began, so nothing created in between is missed.
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) this.#add(path, { strict: false, report: how.report });
      else if (how.report) this.#onEntry(path);
    }
  }

  /** Stops watching `dir` and every directory under it. */
  #remove(dir: string): void {
    for (const [path, { watcher }] of this.#dirs) {
      if (isInside(path, dir)) {
        watcher.close();
        this.#dirs.delete(path);
      }
    }
  }

  #event(dir: string, name: string | undefined): void {
    if (this.#closed) return;
    if (name === undefined) {
      // The system did not say what changed: look for directories that came or went.
      this.#rescan(dir);
      this.#onEntry(undefined);
      return;
    }
    const path = join(dir, name);
    // A directory's own watch reports its removal under its own name.
    if (path === join(dir, basename(dir)) && !this.#dirs.has(path) && this.#gone(dir)) return;
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) {
      const known = this.#dirs.get(path);
      // New, or replaced by another directory of that name: watched (again), its files reported.
      if (known === undefined || known.ino !== stat.ino) {
        if (known !== undefined) this.#remove(path);
        this.#add(path, { strict: false, report: true });
      }
      return;
    }
    if (this.#dirs.has(path)) this.#remove(path);
    this.#onEntry(path);
  }

  /** Whether `dir` no longer exists as the directory watched; if so, its watches are let go. */
  #gone(dir: string): boolean {
    let ino: number | undefined;
    try {
      ino = lstatSync(dir).ino;
    } catch {
      ino = undefined;
    }
    if (ino !== undefined && ino === this.#dirs.get(dir)?.ino) return false;
    this.#remove(dir);
    return true;
  }

  #rescan(dir: string): void {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) this.#event(dir, entry.name);
    for (const path of this.#dirs.keys()) {
      if (path !== dir && isInside(path, dir)) this.#gone(path);
    }
  }
}

/**
 * Watches `dir` recursively (plus single files) and calls `onChange` after a debounce.
 *
 * @throws {Error} when `dir` cannot be watched.
 */
export function watchFiles(options: WatchOptions): Watcher {
  const closers: Array<{ close(): void }> = [];
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const record = (path: string | undefined): void => {
    if (closed) return;
    if (path !== undefined) changed.add(path);
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const paths = [...changed];
      changed.clear();
      options.onChange(paths);
    }, options.debounceMs);
  };
  const failed = (error: Error): void => {
    if (!closed) options.onError(error);
  };

  const skip = (path: string): boolean => {
    const rel = relative(options.dir, path);
    return (rel !== "" && isIgnoredPath(rel)) || options.ignoreDirs.some((dir) => isInside(path, dir));
  };
  closers.push(
    new TreeWatcher(options.dir, skip, (path) => {
      if (path === undefined) record(undefined);
      else if (isWatchedFile(relative(options.dir, path), options.extensions) && !options.ignoreDirs.some((dir) => isInside(path, dir))) record(path);
    }, failed),
  );
  for (const dir of options.anyFileDirs ?? []) {
    try {
      closers.push(new TreeWatcher(dir, () => false, record, failed));
    } catch {
      // A missing directory (a frontend not built yet) only means its files do not trigger reloads.
    }
  }

  // Single files are watched through their directory, so they may be created or replaced later.
  const byDir = new Map<string, Set<string>>();
  for (const file of options.files) {
    const dir = file.slice(0, file.length - basename(file).length) || ".";
    const names = byDir.get(dir) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dir, names);
  }
  for (const [dir, names] of byDir) {
    try {
      const watcher = watch(dir, (_event, filename) => {
        if (filename !== null && names.has(filename.toString())) record(join(dir, filename.toString()));
      });
      watcher.on("error", failed);
      closers.push(watcher);
    } catch {
      // An unwatchable directory only means those files do not trigger reloads.
    }
  }

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const closer of closers) closer.close();
    },
  };
}
