import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { localHyperdrive, type LocalHyperdrive } from "../../src/worker/hyperdrive.ts";
import { openPlatform } from "../../src/worker/platform.ts";
import { systemClock } from "../../src/time/clock.ts";
import { openSecretStore } from "../../src/secrets/index.ts";
import { thrown } from "../support/thrown.ts";
import { projectConfig, useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs();
const CONFIG = { binding: "HYPERDRIVE", id: "hd-1", localConnectionString: "postgres://config:from-config@db.internal:6543/configured" };
const VARIABLE = "CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE";
const LEGACY = "WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE";

function fields(hyperdrive: LocalHyperdrive): Record<string, unknown> {
  const { connectionString, host, ip, port, user, password, database } = hyperdrive;
  return { connectionString, host, ip, port, user, password, database };
}

describe("a Hyperdrive binding's connection string", () => {
  it("comes from CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING> first, parsed into Hyperdrive's fields", () => {
    const made = localHyperdrive(CONFIG, { [VARIABLE]: "postgresql://app%40corp:p%40ss%2Fword@localhost:5433/my%20db?sslmode=disable", [LEGACY]: "mysql://x:y@z/w" }, "wrangler.jsonc");
    expect(fields(made.binding)).toEqual({
      connectionString: "postgresql://app%40corp:p%40ss%2Fword@localhost:5433/my%20db?sslmode=disable",
      host: "localhost",
      ip: "localhost",
      port: 5433,
      user: "app@corp",
      password: "p@ss/word",
      database: "my db",
    });
    expect(made.warnings).toEqual([]);
    expect(made.secretValues).toEqual(["postgresql://app%40corp:p%40ss%2Fword@localhost:5433/my%20db?sslmode=disable", "p@ss/word"]);
  });

  it("then from WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>, wrangler's earlier name, with a warning", () => {
    const made = localHyperdrive(CONFIG, { [VARIABLE]: "", [LEGACY]: "mysql://root:pw@127.0.0.1/shop" }, "wrangler.jsonc");
    expect(fields(made.binding)).toMatchObject({ host: "127.0.0.1", port: 3306, user: "root", password: "pw", database: "shop" });
    expect(made.warnings).toEqual([`${LEGACY} is wrangler's earlier name for ${VARIABLE}; it still works, but rename it`]);
  });

  it("then from the binding's localConnectionString; ports default to 5432 for Postgres; IPv6 hosts lose their brackets", () => {
    expect(fields(localHyperdrive(CONFIG, {}, "wrangler.jsonc").binding)).toMatchObject({ host: "db.internal", port: 6543, database: "configured" });
    const v6 = localHyperdrive({ binding: "HYPERDRIVE", localConnectionString: "postgres://u:p@[::1]/d" }, {}, "wrangler.jsonc");
    expect(fields(v6.binding)).toMatchObject({ host: "::1", port: 5432, database: "d" });
  });

  it("is required: without one, start-up stops naming the binding and both ways to give one", () => {
    const error = thrown(() => localHyperdrive({ binding: "HYPERDRIVE", id: "x" }, {}, "wrangler.toml"));
    expect(error.message).toBe(
      `env.HYPERDRIVE (hyperdrive in wrangler.toml) has no local database to connect to. Set ${VARIABLE} in the environment (or .env), ` +
        `or "localConnectionString" on the binding in wrangler.toml, to its connection string, e.g. postgres://user:password@localhost:5432/database`,
    );
  });

  it("is checked as miniflare checks it, and never repeated in the error (it holds a password)", () => {
    const problems: Array<[string, string]> = [
      ["not a url s3cret", "is not a URL"],
      ["http://u:s3cret@host/db", 'has the scheme "http:": Hyperdrive connects to postgres://, postgresql:// or mysql:// databases'],
      ["postgres://:s3cret@host/db", "has no user"],
      ["postgres://u:s3cret@host", "has no database name"],
      ["postgres://u:s3cret@host/", "has no database name"],
    ];
    for (const [value, problem] of problems) {
      const error = thrown(() => localHyperdrive(CONFIG, { [VARIABLE]: value }, "wrangler.jsonc"));
      expect(error.message, value).toContain(`env.HYPERDRIVE: the connection string from ${VARIABLE} ${problem}`);
      expect(error.message, value).not.toContain("s3cret");
    }
    const fromConfig = thrown(() => localHyperdrive({ binding: "DB", localConnectionString: "postgres://u:s3cret@host" }, {}, "wrangler.jsonc"));
    expect(fromConfig.message).toBe('env.DB: the connection string from "localConnectionString" of hyperdrive DB in wrangler.jsonc has no database name, the path of the URL (e.g. /database)');
  });
});

describe("the Hyperdrive binding object", () => {
  it("shows its fields through getters only, as on Cloudflare: spreading or serialising it reveals no password", () => {
    const { binding } = localHyperdrive(CONFIG, {}, "wrangler.jsonc");
    expect(JSON.stringify(binding)).toBe("{}");
    expect({ ...binding }).toEqual({});
    expect(inspect(binding)).toBe("Hyperdrive { postgres://config@db.internal:6543/configured }");
    expect(inspect(binding)).not.toContain("from-config");
  });

  const servers: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it("connect() opens a TCP socket to the database, with web streams both ways (Cloudflare's Socket)", async () => {
    // An echo server on loopback stands where the database would be.
    const server = createServer((socket) => socket.pipe(socket));
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const { binding } = localHyperdrive({ binding: "DB", localConnectionString: `postgres://u:p@127.0.0.1:${port}/d` }, {}, "wrangler.jsonc");
    const socket = binding.connect();
    const info = await socket.opened;
    expect(info.remoteAddress).toBe(`127.0.0.1:${port}`);
    const writer = socket.writable.getWriter();
    await writer.write(new TextEncoder().encode("ping"));
    const reader = socket.readable.getReader();
    let echoed = "";
    while (echoed.length < 4) {
      const { value, done } = await reader.read();
      if (done) break;
      echoed += new TextDecoder().decode(value);
    }
    expect(echoed).toBe("ping");
    reader.releaseLock();
    writer.releaseLock();
    await socket.close();
    await socket.closed;
    expect(() => socket.startTls()).toThrow("give your database driver the connection string");
  });

  it("connect() to a port nothing listens on rejects `opened`, and nothing else", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { binding } = localHyperdrive({ binding: "DB", localConnectionString: `postgres://u:p@127.0.0.1:${port}/d` }, {}, "wrangler.jsonc");
    const socket = binding.connect();
    await expect(socket.opened).rejects.toThrow("ECONNREFUSED");
    await expect(socket.closed).rejects.toThrow("ECONNREFUSED");
  });
});

describe("openPlatform", () => {
  it("binds env.<BINDING> for each hyperdrive entry, and keeps its connection string and password from the logs", () => {
    const dir = tempDir();
    const config = projectConfig({ dir, path: `${dir}/wrangler.jsonc`, hyperdrive: [CONFIG] });
    const platform = openPlatform({
      config,
      dataDir: dir,
      durability: "relaxed",
      clock: systemClock,
      secrets: openSecretStore({ dataDir: dir }),
      smtpUrl: undefined,
      processEnv: { [VARIABLE]: "postgres://env:from-env@localhost/app" },
      worker: () => Promise.resolve(new Response("")),
    });
    try {
      expect(fields(platform.bindings.HYPERDRIVE as LocalHyperdrive)).toMatchObject({ user: "env", password: "from-env", database: "app" });
      expect(platform.secretValues).toEqual(["postgres://env:from-env@localhost/app", "from-env"]);
      expect(platform.warnings).toEqual([]);
    } finally {
      platform.close();
    }
  });

  it("stops when a hyperdrive binding has no connection string", () => {
    const dir = tempDir();
    const config = projectConfig({ dir, path: `${dir}/wrangler.jsonc`, hyperdrive: [{ binding: "PG", id: "x" }] });
    const open = () =>
      openPlatform({
        config,
        dataDir: dir,
        durability: "relaxed",
        clock: systemClock,
        secrets: openSecretStore({ dataDir: dir }),
        smtpUrl: undefined,
        worker: () => Promise.resolve(new Response("")),
      });
    expect(open).toThrow("env.PG (hyperdrive in wrangler.jsonc) has no local database to connect to");
  });
});
