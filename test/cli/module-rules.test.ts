/**
 * wrangler's module rules on a real project: `.html`, `.txt`, `.bin` and `.wasm` imports (the default
 * rules) and a config rule with `fallthrough`, served by `hearth start` (on two threads, each loading
 * the entry) and `hearth dev` (which restarts when an imported file changes), over HTTP.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

/** `(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))`, by bytes. */
const ADD_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type section: (i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, // export section: "add" = function 0
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // code: local.get 0, local.get 1, i32.add
]);

const WORKER = `import page from "./page.html";
import notes from "./notes.txt";
import readme from "./docs/readme.md";
import data from "./data.bin";
import add from "./add.wasm";
import addModule from "./add.wasm?module";

const { exports } = new WebAssembly.Instance(add);

export default {
  fetch: () =>
    Response.json({
      page,
      notes,
      readme,
      pageType: typeof page,
      data: [...new Uint8Array(data)],
      dataIsArrayBuffer: data instanceof ArrayBuffer,
      wasmIsModule: add instanceof WebAssembly.Module && addModule instanceof WebAssembly.Module,
      sum: exports.add(2, 40),
    }),
};
`;

/** A wrangler project importing one file of each kind; `packageJson` undefined leaves it without one (CommonJS). */
async function project(config: string, packageJson?: object): Promise<string> {
  const dir = await tempDir("hearth-module-rules-");
  const files: Record<string, string | Uint8Array> = {
    "wrangler.toml": config,
    "src/index.ts": WORKER,
    "src/page.html": "<h1>Hello</h1>\n",
    "src/notes.txt": "plain text\n",
    "src/docs/readme.md": "# Read me\n",
    "src/data.bin": Uint8Array.from([0, 1, 2, 255]),
    "src/add.wasm": ADD_WASM,
    ...(packageJson ? { "package.json": JSON.stringify(packageJson) } : {}),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const WITH_MARKDOWN = `name = "rules"
main = "src/index.ts"
rules = [{ type = "Text", globs = ["**/*.md"], fallthrough = true }]
`;

const EXPECTED = {
  page: "<h1>Hello</h1>\n",
  notes: "plain text\n",
  readme: "# Read me\n",
  pageType: "string",
  data: [0, 1, 2, 255],
  dataIsArrayBuffer: true,
  wasmIsModule: true,
  sum: 42,
};

async function get(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { connection: "close" } });
  expect(response.status).toBe(200);
  return response.json();
}

describe("module rules", () => {
  it("import .html and .txt as strings, .bin as an ArrayBuffer, .wasm as a WebAssembly.Module, .md by a config rule (two threads)", async () => {
    const dir = await project(WITH_MARKDOWN);
    const server = runCli(["start", "--port", "0", "--threads", "2"], { cwd: dir, env: cleanEnv() });
    const url = await server.ready();
    // Each thread imported the entry before the server said ready: the rules hold in worker threads too.
    expect(server.stdout()).toMatch(/threads\s+2/);
    expect(await get(url)).toEqual(EXPECTED);
    server.proc.kill("SIGTERM");
    expect((await server.exited()).code).toBe(0);
  });

  it('work the same in a "type": "module" project', async () => {
    const dir = await project(WITH_MARKDOWN, { name: "rules", private: true, type: "module" });
    const server = runCli(["start", "--port", "0"], { cwd: dir, env: cleanEnv() });
    expect(await get(await server.ready())).toEqual(EXPECTED);
    server.proc.kill("SIGTERM");
    await server.exited();
  });

  it("refuse an import that only a rule left out by fallthrough matches, naming both rules, as wrangler does", async () => {
    // The .md rule has no fallthrough: the default Text rule (.txt, .html, .sql) after it is left out.
    const dir = await project(`name = "rules"\nmain = "src/index.ts"\nrules = [{ type = "Text", globs = ["**/*.md"] }]\n`);
    const server = runCli(["start", "--port", "0"], { cwd: dir, env: cleanEnv() });
    expect((await server.exited()).code).not.toBe(0);
    expect(server.stderr()).toContain(
      `Cannot import ./page.html: it matches the default module rule {"type":"Text","globs":["**/*.txt","**/*.html","**/*.sql"]}, which is not applied: ` +
        `the rule {"type":"Text","globs":["**/*.md"]} before it has no "fallthrough": true`,
    );
    expect(server.stderr()).toContain(`imported by ${join(dir, "src", "index.ts")}`);
  });

  it("restart hearth dev when an imported file changes", async () => {
    const dir = await project(WITH_MARKDOWN);
    const cli = runCli(["dev", "--port", "0"], { cwd: dir, env: cleanEnv() });
    const url = await cli.ready();
    expect(await get(url)).toEqual(EXPECTED);
    for (const [file, field, text] of [
      ["src/page.html", "page", "<h1>Changed</h1>\n"],
      ["src/docs/readme.md", "readme", "# Changed\n"],
    ] as const) {
      const mark = cli.output().length;
      expect(await readFile(join(dir, file), "utf8")).not.toBe(text);
      await writeFile(join(dir, file), text);
      const reloaded = await cli.ready(mark);
      expect(cli.output().slice(mark)).toContain(`${file} changed`);
      expect(await get(reloaded)).toMatchObject({ [field]: text });
    }
    cli.proc.kill("SIGTERM");
    expect((await cli.exited()).code).toBe(0);
  });
});
