import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { watchFiles, type Watcher } from "../../src/cli/watcher.ts";

const DEBOUNCE_MS = 40;
/** How long a save may take to be reported; far above the debounce, so a slow machine does not fail the test. */
const REPORT_MS = 5_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A project directory watched as `hearth dev` watches it, with the bursts of changes it reported. */
async function watched(): Promise<{ dir: string; next(what: string): Promise<string[]>; quiet(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "hearth-watch-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "src", "agents"), { recursive: true });
  await mkdir(join(dir, ".hearth"));
  await writeFile(join(dir, "src", "index.ts"), "export const v = 1;\n");
  await writeFile(join(dir, "src", "agents", "chat.ts"), "export const c = 1;\n");
  const bursts: string[][] = [];
  let wake: (() => void) | undefined;
  const watcher: Watcher = watchFiles({
    dir,
    ignoreDirs: [join(dir, ".hearth")],
    files: [join(dir, ".dev.vars")],
    debounceMs: DEBOUNCE_MS,
    onChange: (paths) => {
      bursts.push(paths);
      wake?.();
    },
    onError: (error) => {
      throw error;
    },
  });
  cleanups.push(() => watcher.close());
  // Some systems report the directory listing itself right after a watch begins: let that pass.
  await new Promise((resolve) => setTimeout(resolve, 100));
  bursts.length = 0;
  return {
    dir,
    async next(what) {
      const deadline = Date.now() + REPORT_MS;
      while (bursts.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no change reported after ${what}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // Let the rest of one save (an editor's several writes) land in the same burst.
      await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 3));
      return bursts.splice(0).flat();
    },
    async quiet() {
      await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 5));
      expect(bursts.splice(0)).toEqual([]);
    },
  };
}

/** The ways editors and tools save a file. */
const saves: Record<string, (path: string, text: string) => Promise<void>> = {
  "in place": (path, text) => writeFile(path, text),
  // VS Code's and JetBrains' safe write, vim's backupcopy=no, most atomic-write libraries.
  "write a temporary file and rename it over": async (path, text) => {
    await writeFile(`${path}.tmp-${process.pid}`, text);
    await rename(`${path}.tmp-${process.pid}`, path);
  },
  // `git checkout`, `git stash pop`, a formatter that replaces the file.
  "delete and create again": async (path, text) => {
    await unlink(path);
    await writeFile(path, text);
  },
  // `sed -i`: a temporary file in the same directory without the extension, renamed over.
  "sed -i": async (path, text) => {
    const temp = join(path, "..", `sed${Math.random().toString(36).slice(2, 8)}`);
    await writeFile(temp, text);
    await rename(temp, path);
  },
};

describe("hearth dev's file watching", () => {
  for (const [how, save] of Object.entries(saves)) {
    it(`reports every later save of a file saved by "${how}"`, async () => {
      const project = await watched();
      for (const file of [join(project.dir, "src", "index.ts"), join(project.dir, "src", "agents", "chat.ts")]) {
        for (let round = 1; round <= 2; round++) {
          await save(file, `export const v = ${round};\n`);
          expect(await project.next(`${how} #${round} of ${file}`)).toContain(file);
          // Whatever the first save did to the file, plain edits after it are seen too.
          for (const text of ["a", "b"]) {
            await writeFile(file, `export const v = "${round}${text}";\n`);
            expect(await project.next(`an edit after ${how} #${round} of ${file}`)).toContain(file);
          }
        }
        expect(await readFile(file, "utf8")).toBe(`export const v = "2b";\n`);
      }
    });
  }

  it("follows directories created, removed and created again, and ignores the data directory", async () => {
    const project = await watched();
    const tools = join(project.dir, "src", "tools");
    await mkdir(tools);
    await writeFile(join(tools, "search.ts"), "export {};\n");
    expect(await project.next("a new directory's file")).toContain(join(tools, "search.ts"));
    await writeFile(join(tools, "search.ts"), "export const x = 1;\n");
    expect(await project.next("an edit in a new directory")).toContain(join(tools, "search.ts"));

    await rm(tools, { recursive: true });
    await project.next("removing a directory");
    await mkdir(tools);
    await writeFile(join(tools, "other.ts"), "export {};\n");
    expect(await project.next("a directory created again")).toContain(join(tools, "other.ts"));
    await writeFile(join(tools, "other.ts"), "export const y = 1;\n");
    expect(await project.next("an edit in a directory created again")).toContain(join(tools, "other.ts"));

    await writeFile(join(project.dir, ".hearth", "host.json"), "{}");
    await writeFile(join(project.dir, "src", "notes.md"), "# notes\n");
    await project.quiet();

    await writeFile(join(project.dir, ".dev.vars"), "A=1\n");
    expect(await project.next(".dev.vars")).toContain(join(project.dir, ".dev.vars"));
  });
});
