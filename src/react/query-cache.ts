import type { QueryParams } from "../client/agent-fetch.ts";

/** `useAgent`'s `query`: fixed parameters, or a function resolving them before a connection. */
export type AgentQuery = QueryParams | (() => QueryParams | Promise<QueryParams>);

/** How long a resolved query is reused when `cacheTtl` is not given: five minutes. */
export const DEFAULT_QUERY_CACHE_TTL_MS = 5 * 60_000;

/** What the cache reads from the hook's latest render. */
export interface QuerySource {
  /** The application's query function. */
  query: () => QueryParams | Promise<QueryParams>;
  /** Agent, instance and `queryDeps`: a new key calls the function again. */
  key: string;
  /** `cacheTtl` in milliseconds; 0 or less: never reuse a result. */
  ttl: number;
}

interface Entry {
  key: string;
  promise: Promise<QueryParams>;
  expiresAt: number;
  /** The JSON of the resolved parameters, once they are in. */
  json?: string;
}

/**
 * The async `query` of `useAgent`, cached as the Agents SDK documents it:
 * the function runs before the first connection and again only when
 * `queryDeps` change (a new key), when `cacheTtl` runs out, or after the
 * connection dropped (the hook calls {@link QueryCache.invalidate}), so a
 * reconnect never offers an old token. PartySocket calls
 * {@link QueryCache.provider} before each connection attempt.
 *
 * When a result runs out, `onExpire` is called; the hook then refreshes it
 * and reconnects only when the parameters changed.
 *
 * @example
 * ```ts
 * const cache = new QueryCache(() => ({ query: getToken, key: "chat/room-1", ttl: 60_000 }), onExpire);
 * new PartySocket({ host, basePath, query: cache.provider });
 * ```
 */
export class QueryCache {
  #entry: Entry | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  private readonly source: () => QuerySource;
  private readonly onExpire: () => void;

  constructor(source: () => QuerySource, onExpire: () => void) {
    this.source = source;
    this.onExpire = onExpire;
  }

  /** The parameters for the next connection attempt: the cached result, or a new call of the function. */
  readonly provider = (): Promise<QueryParams> => {
    const { key } = this.source();
    const entry = this.#entry;
    if (entry !== null && entry.key === key && Date.now() < entry.expiresAt) return entry.promise;
    return this.#fetch().promise;
  };

  /** Calls the function again now; resolves whether the parameters differ from the previous result. */
  async refresh(): Promise<boolean> {
    const before = this.#entry?.json;
    const entry = this.#fetch();
    try {
      await entry.promise;
    } catch {
      return false;
    }
    return entry.json !== before;
  }

  /** Forgets the cached result: the next connection attempt calls the function. */
  invalidate(): void {
    this.#entry = null;
    clearTimeout(this.#timer);
  }

  /** Stops expiry reports (the component unmounted). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Reports expiries again, from the next result on (the component mounted again, as Strict Mode does). */
  start(): void {
    this.#stopped = false;
  }

  #fetch(): Entry {
    const { query, key, ttl } = this.source();
    clearTimeout(this.#timer);
    const promise = Promise.resolve().then(query);
    const entry: Entry = { key, promise, expiresAt: Date.now() + Math.max(ttl, 0) };
    this.#entry = entry;
    promise.then(
      (params) => {
        entry.json = JSON.stringify(params ?? {});
        if (this.#entry !== entry || this.#stopped || ttl <= 0) return;
        this.#timer = setTimeout(() => {
          if (this.#entry === entry && !this.#stopped) this.onExpire();
        }, Math.max(0, entry.expiresAt - Date.now()));
      },
      (error: unknown) => {
        if (this.#entry === entry) this.#entry = null;
        console.error(`[useAgent] The query function failed; the next connection attempt calls it again:`, error);
      },
    );
    return entry;
  }
}
