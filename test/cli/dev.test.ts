import { copyFile, mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, FIXTURES, isAlive, requireBuild, ROOT, runCli, tempDir, until } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

/** A throwaway project whose `src/index.ts` is the dev-app fixture and whose "hearth" is this repo. */
async function project(): Promise<{ dir: string; entry: string }> {
  const dir = await tempDir("hearth-dev-");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "dev-fixture", private: true, type: "module" }));
  await mkdir(join(dir, "node_modules"));
  await symlink(ROOT, join(dir, "node_modules", "hearth"), "dir");
  await mkdir(join(dir, "src"));
  const entry = join(dir, "src", "index.ts");
  await copyFile(join(FIXTURES, "dev-app.ts"), entry);
  return { dir, entry };
}

async function version(url: string): Promise<{ version: string; pid: number }> {
  // No kept-alive socket: the next call may reach a restarted server on the same port, and a pooled
  // connection to the old one would be reset.
  const response = await fetch(`${url}/agents/versioned/a`, { headers: { connection: "close" } });
  return (await response.json()) as { version: string; pid: number };
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, "utf8");
  expect(text).toContain(from);
  await writeFile(path, text.replace(from, to));
}

describe("hearth dev", () => {
  it("restarts the server when the entry changes, survives a broken save, and stops its child", async () => {
    const { dir, entry } = await project();
    const asShipped = cleanEnv();
    delete asShipped.HEARTH_THREADS; // dev's own default, not the suite's (cleanEnv)
    const cli = runCli(["dev", "src/index.ts", "--port", "0"], { cwd: dir, env: asShipped });
    const url = await cli.ready();
    expect(cli.stdout()).toContain("hearth dev · src/index.ts");
    expect(cli.stdout()).toMatch(/agents\s+Versioned\s+→/);
    // One thread under dev, whatever the cores (hearth start's default is one per core).
    expect(cli.stdout()).not.toMatch(/threads\s/);
    const first = await version(url);
    expect(first.version).toBe("v1");
    expect(first.pid).not.toBe(cli.proc.pid); // served by a child process

    let mark = cli.output().length;
    await edit(entry, `"v1"`, `"v2"`);
    const reloaded = await cli.ready(mark);
    expect(cli.output().slice(mark)).toMatch(/reload\s+src\/index\.ts changed → http/);
    expect(reloaded).toBe(url); // the port chosen for --port 0 is kept across restarts
    // So is the inspector's (its default, port + 1, may be someone else's by now).
    const inspector = /inspect\s+(http:\/\/[^\s#]+)/.exec(cli.stdout())?.[1];
    expect(inspector).toBeDefined();
    expect((await fetch(inspector!)).status).toBe(200);
    const second = await version(reloaded);
    expect(second.version).toBe("v2");
    expect(second.pid).not.toBe(first.pid);
    await until(() => !isAlive(first.pid), "the old server child exited");

    mark = cli.output().length;
    await edit(entry, `const VERSION = "v2";`, `const VERSION = ;`);
    await cli.waitFor(/reload\s+src\/index\.ts changed → failed .*waiting for changes/, mark);
    // Where the mistake is, not the compiler's stack.
    expect(cli.output().slice(mark)).toContain(`syntax error in src/index.ts:`);
    expect(cli.output().slice(mark)).toMatch(/> +\d+ \| const VERSION = ;/);
    expect(cli.output().slice(mark)).not.toMatch(/\n\s+at /);

    mark = cli.output().length;
    await edit(entry, `const VERSION = ;`, `const VERSION = "v3";`);
    const third = await version(await cli.ready(mark));
    expect(third.version).toBe("v3");

    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
    await until(() => !isAlive(third.pid), "the server child exited with the dev process");
  });

  it("reloads at every save when the editor replaces the file (atomic save), not only the first", async () => {
    const { dir, entry } = await project();
    const cli = runCli(["dev", "src/index.ts", "--port", "0"], { cwd: dir });
    const url = await cli.ready();
    expect((await version(url)).version).toBe("v1");
    const saves = [
      { to: "v2", how: "rename" },
      { to: "v3", how: "rename" },
      { to: "v4", how: "in place" },
    ];
    let from = "v1";
    for (const { to, how } of saves) {
      const mark = cli.output().length;
      const text = (await readFile(entry, "utf8")).replace(`"${from}"`, `"${to}"`);
      if (how === "rename") {
        await writeFile(`${entry}.tmp`, text);
        await rename(`${entry}.tmp`, entry);
      } else {
        await writeFile(entry, text);
      }
      await cli.waitFor(/reload\s+src\/index\.ts changed → http/, mark);
      expect((await version(url)).version, `after a save ${how} to ${to}`).toBe(to);
      from = to;
    }
  });

  it("reloads when .dev.vars changes", async () => {
    const { dir } = await project();
    const cli = runCli(["dev", "src/index.ts", "--port", "0"], { cwd: dir });
    const url = await cli.ready();
    const before = await version(url);

    const mark = cli.output().length;
    await writeFile(join(dir, ".dev.vars"), "GREETING=hi\n");
    await cli.waitFor(/reload\s+\.dev\.vars changed → http/, mark);
    const after = await version(url);
    expect(after.pid).not.toBe(before.pid);
  });

  it("waits for the next save when the wrangler config loses its main, and names dev in the hint", async () => {
    const { dir } = await project();
    const config = join(dir, "wrangler.jsonc");
    const bindings = `"durable_objects": { "bindings": [{ "name": "Versioned", "class_name": "Versioned" }] }, "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Versioned"] }]`;
    await writeFile(config, `{\n  "name": "dev-fixture",\n  "main": "src/index.ts",\n  ${bindings}\n}\n`);
    const cli = runCli(["dev", "--port", "0"], { cwd: dir });
    const url = await cli.ready();
    expect((await version(url)).version).toBe("v1");

    let mark = cli.output().length;
    await edit(config, `"main": "src/index.ts"`, `"mian": "src/index.ts"`);
    await cli.waitFor(/waiting for changes/, mark);
    expect(cli.output().slice(mark)).toContain(`wrangler.jsonc has no "main": add "main": "src/index.ts" or give the entry: hearth dev src/index.ts`);
    expect(isAlive(cli.proc.pid!)).toBe(true);

    mark = cli.output().length;
    await edit(config, `"mian"`, `"main"`);
    expect((await version(await cli.ready(mark))).version).toBe("v1");
  });

  it("stops on SIGINT like Ctrl-C, taking the child down", async () => {
    const { dir } = await project();
    const cli = runCli(["dev", "src/index.ts", "--port", "0"], { cwd: dir });
    const { pid } = await version(await cli.ready());
    cli.proc.kill("SIGINT");
    expect((await cli.exited()).code).toBe(0);
    await until(() => !isAlive(pid), "the server child exited");
  });
});
