import { watch, type FSWatcher } from "node:fs";
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

/** Whether a change to this file (relative to the watched directory) should restart the server. */
export function isWatchedFile(relativePath: string): boolean {
  return !isIgnoredPath(relativePath) && WATCHED_EXTENSIONS.has(extname(relativePath).toLowerCase());
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Watches `dir` recursively (plus single files) and calls `onChange` after a debounce.
 *
 * @throws {Error} when `dir` cannot be watched.
 */
export function watchFiles(options: WatchOptions): Watcher {
  const watchers: FSWatcher[] = [];
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

  const skip = (relativePath: string): boolean =>
    isIgnoredPath(relativePath) || options.ignoreDirs.some((dir) => isInside(join(options.dir, relativePath), dir));
  // `ignore` keeps Node from even watching node_modules and the like where it supports the option;
  // the same test runs on every event for versions that do not.
  const main = watch(options.dir, { recursive: true, ignore: skip }, (_event, filename) => {
    if (filename === null) return record(undefined);
    const path = join(options.dir, filename.toString());
    const rel = relative(options.dir, path);
    if (!skip(rel) && isWatchedFile(rel)) record(path);
  });
  main.on("error", failed);
  watchers.push(main);
  for (const dir of options.anyFileDirs ?? []) {
    try {
      const watcher = watch(dir, { recursive: true }, (_event, filename) => record(filename === null ? undefined : join(dir, filename.toString())));
      watcher.on("error", failed);
      watchers.push(watcher);
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
      watchers.push(watcher);
    } catch {
      // An unwatchable directory only means those files do not trigger reloads.
    }
  }

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
