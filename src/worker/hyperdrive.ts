/**
 * Hyperdrive bindings as `wrangler dev` makes them: straight to a database of the developer's own,
 * given by `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` or the binding's
 * `localConnectionString`. No pooling or query cache in between. Connection strings hold passwords:
 * no message here repeats one.
 * @module
 */
import { inspect } from "node:util";
import type { HyperdriveConfig } from "../config/types.ts";
import { openTcpSocket, type TcpSocket } from "./tcp-socket.ts";

/** The variable that gives a binding its local database; it wins over `localConnectionString` (wrangler's rule). */
export function hyperdriveVariable(binding: string): string {
  return `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_${binding}`;
}

/** wrangler's earlier name for {@link hyperdriveVariable}: still read, with a warning, when the new one is not set. */
export function legacyHyperdriveVariable(binding: string): string {
  return `WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_${binding}`;
}

/** The databases Hyperdrive connects to, and their ports when the URL gives none. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { "postgres:": 5432, "postgresql:": 5432, "mysql:": 3306 };

/** The parts of a connection string, decoded. */
interface Target {
  connectionString: string;
  scheme: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * `env.<BINDING>` for a Hyperdrive binding: the fields of Cloudflare's `Hyperdrive`, read from the
 * local connection string. As on Cloudflare they are getters of the class, so spreading or
 * serialising the binding shows none of them (the password included).
 */
export class LocalHyperdrive {
  readonly #target: Target;

  constructor(target: Target) {
    this.#target = target;
  }

  /** The connection string as given: what a driver (`pg`, `postgres`, `mysql2`) takes. */
  get connectionString(): string {
    return this.#target.connectionString;
  }
  /** The database's host name or address. */
  get host(): string {
    return this.#target.host;
  }
  /** On Cloudflare a synthetic address of the pool; here the host as given, which Node's drivers connect to by name too. */
  get ip(): string {
    return this.#target.host;
  }
  get port(): number {
    return this.#target.port;
  }
  get user(): string {
    return this.#target.user;
  }
  get password(): string {
    return this.#target.password;
  }
  get database(): string {
    return this.#target.database;
  }

  /** A TCP connection to the database, not yet authenticated (Cloudflare's `connect()`). */
  connect(): TcpSocket {
    return openTcpSocket(this.#target.host, this.#target.port);
  }

  [inspect.custom](): string {
    const { scheme, user, host, port, database } = this.#target;
    return `Hyperdrive { ${scheme}//${user}@${host.includes(":") ? `[${host}]` : host}:${port}/${database} }`;
  }
}

/** A Hyperdrive binding made, what to warn about, and the values the logs must not show. */
export interface HyperdriveBinding {
  binding: LocalHyperdrive;
  warnings: string[];
  /** The connection string and its password. */
  secretValues: string[];
}

/**
 * Makes `env.<binding>` from the first of: `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<binding>`,
 * `WRANGLER_HYPERDRIVE_LOCAL_CONNECTION_STRING_<binding>` (with a warning) in `processEnv`, and the
 * binding's `localConnectionString`. Empty values count as unset.
 *
 * @throws {Error} naming the binding and both ways to give a connection string when there is none,
 *   or what is wrong with the one given (never the string itself).
 */
export function localHyperdrive(config: HyperdriveConfig, processEnv: Readonly<Record<string, string | undefined>>, configFile: string): HyperdriveBinding {
  const name = hyperdriveVariable(config.binding);
  const legacy = legacyHyperdriveVariable(config.binding);
  const warnings: string[] = [];
  const fromEnv = processEnv[name];
  const fromLegacy = processEnv[legacy];
  let given: { value: string; from: string } | undefined;
  if (fromEnv) given = { value: fromEnv, from: name };
  else if (fromLegacy) {
    given = { value: fromLegacy, from: legacy };
    warnings.push(`${legacy} is wrangler's earlier name for ${name}; it still works, but rename it`);
  } else if (config.localConnectionString !== undefined) {
    given = { value: config.localConnectionString, from: `"localConnectionString" of hyperdrive ${config.binding} in ${configFile}` };
  }
  if (given === undefined) {
    throw new Error(
      `env.${config.binding} (hyperdrive in ${configFile}) has no local database to connect to. Set ${name} in the environment (or .env), ` +
        `or "localConnectionString" on the binding in ${configFile}, to its connection string, e.g. postgres://user:password@localhost:5432/database`,
    );
  }
  const target = parseConnectionString(given.value, (problem) => new Error(`env.${config.binding}: the connection string from ${given.from} ${problem}`));
  return { binding: new LocalHyperdrive(target), warnings, secretValues: [target.connectionString, ...(target.password === "" ? [] : [target.password])] };
}

/** Reads a `postgres://` / `postgresql://` / `mysql://` URL, with the checks miniflare makes. */
function parseConnectionString(value: string, problem: (what: string) => Error): Target {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw problem("is not a URL (expected e.g. postgres://user:password@localhost:5432/database)");
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) throw problem(`has the scheme "${url.protocol}": Hyperdrive connects to postgres://, postgresql:// or mysql:// databases`);
  if (url.hostname === "") throw problem("has no host (expected e.g. postgres://user:password@localhost:5432/database)");
  if (url.username === "") throw problem("has no user (expected e.g. postgres://user:password@localhost:5432/database)");
  const database = decoded(url.pathname.replace(/^\//, ""));
  if (database === "") throw problem("has no database name, the path of the URL (e.g. /database)");
  return {
    connectionString: value,
    scheme: url.protocol,
    // An IPv6 address is written in brackets in a URL, and without them everywhere else.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? defaultPort : Number(url.port),
    user: decoded(url.username),
    password: decoded(url.password),
    database,
  };
}

/** A URL part with its %-escapes decoded; one that is not valid escaping is kept as written. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
