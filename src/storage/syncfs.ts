import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";

/**
 * syncfs(2) for Node, which has no binding for it: `sync -f <dirs>` flushes every dirty page and
 * inode of the file systems holding those directories. Run through one long-lived `sh`, because
 * spawning from this process forks all of it (~tens of ms at a few hundred MB of RSS, on the main
 * thread); the shell forks `sync` from its own small image. Answers come back in order, one line each.
 */
/** A child's stdio pipe: a socket, which can stop keeping the event loop alive. */
type Pipe = { ref(): void; unref(): void };
const pipe = (stream: Readable | Writable): Pipe => stream as unknown as Pipe;

let shell: ChildProcessByStdio<Writable, Readable, null> | undefined;
const waiting: Array<(ok: boolean) => void> = [];
let broken = false;

/** Resolves true once the file systems of `folders` are synced; false where this cannot be done. */
export function syncFileSystems(folders: string[]): Promise<boolean> {
  if (broken || folders.length === 0) return Promise.resolve(!broken);
  const sh = shell ?? start();
  if (sh === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    waiting.push(resolve);
    pipe(sh.stdout).ref();
    sh.stdin.write(`sync -f ${folders.map(quote).join(" ")} 2>/dev/null && echo 1 || echo 0\n`);
  });
}

function start(): ChildProcessByStdio<Writable, Readable, null> | undefined {
  let sh: ChildProcessByStdio<Writable, Readable, null>;
  try {
    sh = spawn("sh", [], { stdio: ["pipe", "pipe", "ignore"] });
  } catch {
    broken = true;
    return undefined;
  }
  const fail = () => {
    broken = true;
    shell = undefined;
    for (const resolve of waiting.splice(0)) resolve(false);
  };
  sh.once("error", fail);
  sh.once("exit", fail);
  sh.stdin.on("error", fail);
  let partial = "";
  sh.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    for (let newline = partial.indexOf("\n"); newline >= 0; newline = partial.indexOf("\n")) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      waiting.shift()?.(line === "1");
    }
    if (waiting.length === 0) pipe(sh.stdout).unref();
  });
  // Never keeps the process alive by itself; it ends when this process closes its stdin (exits).
  sh.unref();
  pipe(sh.stdout).unref();
  pipe(sh.stdin).unref();
  shell = sh;
  return sh;
}

function quote(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}
