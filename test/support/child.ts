import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/**
 * For `node --import TS_HOOKS child.ts`: compiles the child's TypeScript in its own thread, with a
 * cache (see ts-hooks.mjs for why not tsx).
 */
export const TS_HOOKS = new URL("./ts-hooks.mjs", import.meta.url).href;
const live = new Set<ChildProcess>();

/** A TypeScript program run from source in its own Node process, read line by line. */
export interface Child {
  proc: ChildProcess;
  /** The URL of its `READY <url>` line. */
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the next stdout line (after the last one an earlier call matched) matching `pattern`, or null after `ms` or exit. */
  nextLine(pattern: RegExp, ms: number): Promise<string | null>;
  /** The last 8 KB of its stderr, for failure messages. */
  stderr(): string;
}

/**
 * Starts `node --import ./test/support/ts-hooks.mjs <script> ...args` from the repository root and waits for its
 * `READY <url>` line. `onLine` sees every stdout line; `stdin: true` keeps stdin open for writing.
 */
export async function startChild(
  script: string,
  args: string[],
  options: { onLine?: (line: string) => void; stdin?: boolean; readyMs?: number } = {},
): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", TS_HOOKS, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  live.add(proc);
  proc.stdin?.on("error", () => {}); // a write racing the child's death
  let err = "";
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err = (err + chunk).slice(-8000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("close", (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let partial = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    for (let newline = partial.indexOf("\n"); newline >= 0; newline = partial.indexOf("\n")) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      lines.push(line);
      options.onLine?.(line);
      for (const listener of [...listeners]) listener(line);
    }
  });
  // Lines up to here were matched by an earlier nextLine: the next one looks from here, so a line that
  // arrived in the same chunk as the one waited for before (READY and the next line together) is seen.
  let consumed = 0;
  const nextLine = (pattern: RegExp, ms: number, from = consumed) =>
    new Promise<string | null>((resolve) => {
      const at = lines.findIndex((line, index) => index >= from && pattern.test(line));
      if (at >= 0) {
        consumed = Math.max(consumed, at + 1);
        return resolve(lines[at]!);
      }
      const done = (line: string | null) => {
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(line);
      };
      const listener = (line: string) => {
        if (!pattern.test(line)) return;
        consumed = Math.max(consumed, lines.length); // the line was just pushed
        done(line);
      };
      const timer = setTimeout(() => done(null), ms);
      listeners.add(listener);
      void exited.then(() => done(null));
    });
  const readyMs = options.readyMs ?? 20_000;
  const ready = await nextLine(/^READY /, readyMs, 0);
  if (!ready) {
    proc.kill("SIGKILL");
    const how = JSON.stringify(proc.exitCode ?? proc.signalCode);
    throw new Error(`${script} not ready after ${readyMs / 1000} s (or exited: ${how}); stderr:\n${err}`);
  }
  return { proc, url: ready.slice("READY ".length), exited, lines, nextLine: (pattern, ms) => nextLine(pattern, ms), stderr: () => err };
}

/** Kills every child still running (for afterAll / afterEach). */
export function killChildren(): void {
  for (const proc of live) proc.kill("SIGKILL");
}

/**
 * For a child program: prints `READY <url>` for `startChild`, and on SIGTERM closes the server,
 * then the host, then exits 0.
 */
export function announceReady(server: { url: string; close(): Promise<void> }, host: { close(): Promise<void> }): void {
  process.once("SIGTERM", () => {
    void server
      .close()
      .then(() => host.close())
      .then(() => process.exit(0));
  });
  process.stdout.write(`READY ${server.url}\n`);
}
