import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { keyFilePath, openSecretStore, runSecretCommand, secretsFilePath, type SecretCommandIo } from "../../src/secrets/index.ts";
import { tempDirs, VALUE } from "./helpers.ts";

const dirs = tempDirs();

interface Run {
  status: number;
  out: string[];
  err: string[];
  /** Everything printed, for "the value never appears" checks. */
  printed: string;
}

async function run(argv: string[], options: { stdin?: string | Readable; isTTY?: boolean; env?: NodeJS.ProcessEnv; envName?: string } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = options.stdin instanceof Readable ? options.stdin : Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const io: SecretCommandIo = {
    dataDir: dirs.dataDir(),
    stdin,
    isTTY: options.isTTY ?? false,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    processEnv: options.env ?? {},
    cwd: dirs.root(),
    ...(options.envName !== undefined ? { envName: options.envName } : {}),
  };
  const status = await runSecretCommand(argv, io);
  return { status, out, err, printed: [...out, ...err].join("\n") };
}

describe("hearth secret put", () => {
  it("reads the value from stdin, trims trailing whitespace, and never prints it", async () => {
    const result = await run(["put", "API_KEY"], { stdin: `${VALUE}  \n\n` });
    expect(result.status).toBe(0);
    expect(result.out[0]).toBe("Saved secret API_KEY for the top-level environment.");
    expect(result.out[1]).toBe(
      `Created the key ${keyFilePath(dirs.dataDir())} (mode 0600). Back it up: without it, or HEARTH_SECRET_KEY, these secrets cannot be read.`,
    );
    expect(result.printed).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: dirs.dataDir() }).get("API_KEY")).toBe(VALUE);
    expect(statSync(keyFilePath(dirs.dataDir())).mode & 0o777).toBe(0o600);

    const again = await run(["put", "API_KEY"], { stdin: "second value\n" });
    expect(again.out).toEqual(["Replaced secret API_KEY for the top-level environment."]);
  });

  it("keeps leading whitespace and inner newlines", async () => {
    await run(["put", "PEM"], { stdin: "  -----BEGIN-----\nabc\n-----END-----\n" });
    expect(openSecretStore({ dataDir: dirs.dataDir() }).get("PEM")).toBe("  -----BEGIN-----\nabc\n-----END-----");
  });

  it("writes to the environment given by --env, or by the caller", async () => {
    expect((await run(["put", "A", "--env", "staging"], { stdin: "s" })).out[0]).toBe("Saved secret A for environment staging.");
    expect((await run(["put", "A", "--env=production"], { stdin: "p" })).status).toBe(0);
    expect((await run(["put", "A"], { stdin: "c", envName: "canary" })).status).toBe(0);
    const dataDir = dirs.dataDir();
    expect(openSecretStore({ dataDir, envName: "staging" }).get("A")).toBe("s");
    expect(openSecretStore({ dataDir, envName: "production" }).get("A")).toBe("p");
    expect(openSecretStore({ dataDir, envName: "canary" }).get("A")).toBe("c");
    expect(openSecretStore({ dataDir }).list()).toEqual([]);
  });

  it("uses HEARTH_SECRET_KEY from the environment it is given, creating no key file", async () => {
    const key = randomBytes(32).toString("base64");
    const result = await run(["put", "A"], { stdin: VALUE, env: { HEARTH_SECRET_KEY: key } });
    expect(result.out).toEqual(["Saved secret A for the top-level environment."]);
    expect(() => statSync(keyFilePath(dirs.dataDir()))).toThrow(/ENOENT/);
    expect(openSecretStore({ dataDir: dirs.dataDir(), keyEnv: key }).get("A")).toBe(VALUE);
  });

  it("prompts on a terminal and reads one line without echoing it", async () => {
    const stdin = Readable.from([Buffer.from(`${VALUE}x\u007f\r`), Buffer.from("typed later\n")]);
    const rawModes: boolean[] = [];
    Object.assign(stdin, { setRawMode: (raw: boolean) => rawModes.push(raw) });
    const result = await run(["put", "API_KEY"], { stdin, isTTY: true });
    expect(result.status).toBe(0);
    expect(result.err).toEqual(["Enter the value of API_KEY (input hidden), then press Enter:"]);
    expect(result.printed).not.toContain(VALUE);
    expect(rawModes).toEqual([true, false]);
    expect(openSecretStore({ dataDir: dirs.dataDir() }).get("API_KEY")).toBe(VALUE);
  });

  it("stops on Ctrl-C at the prompt, saving nothing", async () => {
    const result = await run(["put", "A"], { stdin: `${VALUE}\u0003`, isTTY: true });
    expect(result.status).toBe(130);
    expect(result.err.at(-1)).toBe("Cancelled; nothing was saved.");
    expect(result.printed).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: dirs.dataDir() }).list()).toEqual([]);
  });

  it("refuses an empty value", async () => {
    const result = await run(["put", "A"], { stdin: "  \n" });
    expect(result.status).toBe(1);
    expect(result.err[0]).toMatch(/^error the value of A is empty, so nothing was saved: pipe it on stdin/);
    expect(() => statSync(dirs.dataDir())).toThrow(/ENOENT/);
  });

  it("refuses a value over 5120 bytes, naming the limit, keeping the stored one", async () => {
    await run(["put", "A"], { stdin: VALUE });
    const result = await run(["put", "A"], { stdin: "y".repeat(6000) });
    expect(result.status).toBe(1);
    expect(result.err).toEqual(['error secret "A" is 6000 bytes; the limit is 5120 bytes (5 KiB, Cloudflare\'s limit for a secret)']);
    expect(openSecretStore({ dataDir: dirs.dataDir() }).get("A")).toBe(VALUE);
  });

  it("stops reading a pipe after 1 MiB", async () => {
    const result = await run(["put", "A"], { stdin: "z".repeat(1024 * 1024 + 1) });
    expect(result.status).toBe(1);
    expect(result.err).toEqual(["error more than 1048576 bytes on stdin; a secret is at most 5120 bytes"]);
  });

  it("refuses a value given on the command line without printing it", async () => {
    const result = await run(["put", "API_KEY", VALUE], { stdin: "unused" });
    expect(result.status).toBe(2);
    expect(result.err[0]).toBe(
      "error put takes one argument, the name; the value is read from stdin or a prompt, never from the command line (the extra arguments are not shown)",
    );
    expect(result.printed).not.toContain(VALUE);
    const option = await run(["put", "API_KEY", `--value=${VALUE}`]);
    expect(option.status).toBe(2);
    expect(option.err[0]).toBe('error unknown option "--value"');
    expect(option.printed).not.toContain(VALUE);
  });

  it("checks the name before reading the value", async () => {
    const result = await run(["put", "../etc/passwd"], { stdin: VALUE });
    expect(result.status).toBe(1);
    expect(result.err).toEqual(['error secret name "../etc/passwd" is not allowed: use letters, digits, "_" or "-", starting with a letter or "_"']);
    expect((await run(["put"])).err[0]).toBe("error put needs the secret's name: hearth secret put <NAME>");
  });

  it("checks the key before reading the value, and never prints the value on a key error", async () => {
    await run(["put", "A"], { stdin: VALUE });
    const stdin = Readable.from([Buffer.from("never read\n")]);
    const result = await run(["put", "B"], { stdin, env: { HEARTH_SECRET_KEY: randomBytes(32).toString("hex") } });
    expect(result.status).toBe(1);
    expect(result.err[0]).toMatch(/^error cannot decrypt secrets: the key does not match the one the secrets in .* were written with/);
    expect(stdin.readableEnded).toBe(false);
    const bad = await run(["put", "B"], { stdin: Readable.from([Buffer.from("never read\n")]), env: { HEARTH_SECRET_KEY: "not-a-key" } });
    expect(bad.status).toBe(1);
    expect(bad.err[0]).toContain("HEARTH_SECRET_KEY is not a usable key: it must be 32 bytes");
    expect(bad.printed).not.toContain("not-a-key");
  });
});

describe("hearth secret list and delete", () => {
  it("lists names only, as wrangler's JSON", async () => {
    expect((await run(["list"])).out).toEqual(["[]"]);
    await run(["put", "B_KEY"], { stdin: "b-value" });
    await run(["put", "A_KEY"], { stdin: VALUE });
    const result = await run(["list"]);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.out.join("\n"))).toEqual([
      { name: "A_KEY", type: "secret_text" },
      { name: "B_KEY", type: "secret_text" },
    ]);
    expect(result.printed).not.toContain(VALUE);
    expect(result.printed).not.toContain("b-value");
    expect((await run(["list", "extra"])).status).toBe(2);
  });

  it("need no key: they work with a malformed HEARTH_SECRET_KEY, which a put and a bulk refuse", async () => {
    await run(["put", "A"], { stdin: VALUE });
    await run(["put", "B"], { stdin: "b-value" });
    const env = { HEARTH_SECRET_KEY: "not-a-key" };
    const listed = await run(["list"], { env });
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.out.join("\n"))).toEqual([
      { name: "A", type: "secret_text" },
      { name: "B", type: "secret_text" },
    ]);
    expect(await run(["delete", "A"], { env })).toMatchObject({ status: 0, out: ["Deleted secret A for the top-level environment."] });
    for (const refused of [await run(["put", "C"], { stdin: "c", env }), await run(["bulk"], { stdin: "C=c\n", env })]) {
      expect(refused.status).toBe(1);
      expect(refused.err[0]).toBe(
        "error HEARTH_SECRET_KEY is not a usable key: it must be 32 bytes written as 64 hexadecimal characters or as base64 (44 characters; `openssl rand -base64 32` makes one)",
      );
    }
    expect(openSecretStore({ dataDir: dirs.dataDir() }).all()).toEqual({ B: "b-value" });
  });

  it("deletes, and says when there was nothing to delete", async () => {
    await run(["put", "A"], { stdin: VALUE });
    const deleted = await run(["delete", "A"]);
    expect(deleted).toMatchObject({ status: 0, out: ["Deleted secret A for the top-level environment."] });
    const missing = await run(["delete", "A", "--env", "staging"]);
    expect(missing).toMatchObject({ status: 1, err: ["error secret A not found for environment staging"] });
  });
});

describe("hearth secret bulk", () => {
  it("reads a JSON file: strings are saved, null deletes", async () => {
    await run(["put", "OLD"], { stdin: "old" });
    writeFileSync(join(dirs.root(), "secrets.json"), JSON.stringify({ A: VALUE, B: "two", OLD: null, NEVER: null }));
    const result = await run(["bulk", "secrets.json"]);
    expect(result.status).toBe(0);
    expect(result.out).toEqual([
      "Saved secret A",
      "Saved secret B",
      "Deleted secret OLD",
      "Secret NEVER did not exist; nothing to delete",
      "2 secrets saved, 1 deleted, for the top-level environment.",
    ]);
    expect(result.printed).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: dirs.dataDir() }).all()).toEqual({ A: VALUE, B: "two" });
  });

  it("reads .env lines as the server reads .dev.vars (dotenv): escaped quotes kept, an unclosed quote swallowing nothing", async () => {
    const { parseBulkInput } = await import("../../src/secrets/bulk.ts");
    expect(parseBulkInput('SA_KEY="{\\"type\\":\\"service_account\\"}"\nE="unclosed\nF=f\n', "stdin")).toEqual([
      ["SA_KEY", '{\\"type\\":\\"service_account\\"}'],
      ["E", '"unclosed'],
      ["F", "f"],
    ]);
  });

  it("reads .env lines from stdin", async () => {
    const result = await run(["bulk", "--env", "staging"], { stdin: `# comment\nA=${VALUE}\nexport B="quoted value"\n` });
    expect(result.status).toBe(0);
    expect(result.out).toContain("2 secrets saved, 0 deleted, for environment staging.");
    expect(result.printed).not.toContain(VALUE);
    expect(openSecretStore({ dataDir: dirs.dataDir(), envName: "staging" }).all()).toEqual({ A: VALUE, B: "quoted value" });
  });

  it("changes nothing when one entry is invalid", async () => {
    await run(["put", "KEEP"], { stdin: "kept" });
    const before = readFileSync(secretsFilePath(dirs.dataDir()));
    const badName = await run(["bulk"], { stdin: JSON.stringify({ A: VALUE, "bad name": "x" }) });
    expect(badName.status).toBe(1);
    expect(badName.err[0]).toBe('error secret name "bad name" is not allowed: use letters, digits, "_" or "-", starting with a letter or "_"');
    const badType = await run(["bulk"], { stdin: JSON.stringify({ A: VALUE, PORT: 8080 }) });
    expect(badType.err[0]).toBe('error the value for "PORT" in stdin is not a string but a number (null deletes the secret)');
    const tooBig = await run(["bulk"], { stdin: JSON.stringify({ A: VALUE, BIG: "x".repeat(5121) }) });
    expect(tooBig.err[0]).toContain("the limit is 5120 bytes");
    for (const result of [badName, badType, tooBig]) expect(result.printed).not.toContain(VALUE);
    expect(readFileSync(secretsFilePath(dirs.dataDir())).equals(before)).toBe(true);
  });

  it("says invalid JSON is invalid without quoting it", async () => {
    writeFileSync(join(dirs.root(), "broken.json"), `{"A": "${VALUE}",}`);
    const result = await run(["bulk", "broken.json"]);
    expect(result.status).toBe(1);
    expect(result.err[0]).toBe("error broken.json is not valid JSON (the parser's message is not shown: it would quote the values)");
    expect(result.printed).not.toContain(VALUE);
    expect((await run(["bulk"], { stdin: "[1, 2]" })).err[0]).toBe(
      'error stdin must be a JSON object of names to string values ({"NAME": "value"}; null deletes NAME)',
    );
    expect((await run(["bulk"], { stdin: "" })).err[0]).toBe('error no secrets in stdin: give a JSON object {"NAME": "value", …} or .env lines NAME=value');
  });

  it("reports a missing file by its path", async () => {
    const result = await run(["bulk", "nope.json"]);
    expect(result.status).toBe(1);
    expect(result.err[0]).toContain("nope.json");
  });
});

describe("hearth secret usage", () => {
  it("prints help, and usage errors exit 2", async () => {
    const help = await run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.out[0]).toMatch(/^Usage: hearth secret <command>/);
    expect(await run([])).toMatchObject({ status: 2, err: ["error a command is required: put, delete, list, bulk or import", "Run hearth secret --help for the commands."] });
    expect((await run(["rotate"])).err[0]).toBe('error unknown command "rotate": use put, delete, list, bulk or import');
    expect((await run(["list", "--env"])).err[0]).toBe("error --env needs a value");
    expect((await run(["bulk", "a.json", "b.json"])).err[0]).toBe("error bulk takes at most one argument, the file");
  });

  it("takes --data to choose the data directory", async () => {
    await run(["put", "A", "--data", "elsewhere"], { stdin: VALUE });
    expect(openSecretStore({ dataDir: join(dirs.root(), "elsewhere") }).get("A")).toBe(VALUE);
  });
});
