/**
 * The observability stores as the inspector's sources: the span store, the log store, the problem
 * store, the alert engine and the host's agent catalog, each behind the small interface of
 * sources.ts. Only their types are imported: the inspector reads them, they never know it.
 */
import type { AgentCatalog } from "../host/catalog.ts";
import type { AlertEngine } from "../observability/alerts/alert-engine.ts";
import type { LogStore } from "../observability/store/log-store.ts";
import type { ProblemStore } from "../observability/store/problems.ts";
import type { SpanStore } from "../observability/traces/store.ts";
import type { TraceQuery } from "../observability/traces/trace-query.ts";
import type { LogQuery } from "../observability/store/log-query.ts";
import { ApiError } from "./http.ts";
import type { AlertSource, CatalogSource, LogSource, ProblemSource, SourceQuery, SpanSource } from "./sources.ts";

/** A store's refusal of its input (a RangeError, TypeError or validation error naming the limit) as a 400. */
function asBadRequest<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError || (error instanceof Error && /Validation/.test(error.name))) throw new ApiError(400, "bad_request", error.message);
    throw error;
  }
}

/** {@link asBadRequest} for a promise (a test that cannot run is the caller's mistake, not a 500). */
async function asBadRequestAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    return asBadRequest(() => {
      throw error;
    });
  }
}

function pick(query: SourceQuery, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (query[name] !== undefined) picked[name] = query[name];
  return picked;
}

export function spanSourceOf(store: SpanStore): SpanSource {
  return {
    list: (query) =>
      asBadRequest(() => {
        const page = store.listTraces(pick(query, ["class", "agent", "conversation", "model", "error", "minDurationMs", "minCostUsd", "cursor", "limit"]) as TraceQuery);
        return { items: page.items as unknown as Array<Record<string, unknown>>, next: page.cursor ?? null };
      }),
    get: (traceId) => store.getTrace(traceId) as { traceId: string; spans: unknown[] } | undefined,
    subscribe: (listener) => store.subscribe((span) => listener(span as unknown as Record<string, unknown>)),
  };
}

export function logSourceOf(store: LogStore): LogSource {
  return {
    query: (query) => asBadRequest(() => store.query(pick(query, ["level", "class", "agent", "traceId", "q", "since", "cursor", "limit"]) as LogQuery)),
    subscribe: (listener) => store.subscribe((entry) => listener(entry)),
  };
}

export function problemSourceOf(store: ProblemStore): ProblemSource {
  return { list: (limit) => store.recent({ limit }) as unknown as Array<Record<string, unknown>> };
}

export function alertSourceOf(engine: AlertEngine): AlertSource {
  return {
    snapshot: () => engine.overview() as unknown as { rules: unknown[]; silences: unknown[] },
    history: (query) => asBadRequest(() => engine.history({ cursor: typeof query.cursor === "string" ? query.cursor : null, ...(typeof query.limit === "number" ? { limit: query.limit } : {}), ...(typeof query.rule === "string" ? { rule: query.rule } : {}) })) as unknown as { items: unknown[]; next: string | null },
    addRule: (rule) => ({ id: asBadRequest(() => engine.addRule(rule as never)).id }),
    removeRule: (id) => engine.deleteRule(id),
    test: async (id) => {
      if (!engine.getRule(id)) throw new ApiError(404, "not_found", `No alert rule ${JSON.stringify(id)}`);
      const result = await asBadRequestAsync(() => engine.test(id));
      const failed = result.results.find((one) => !one.delivered);
      return failed?.error ? { delivered: result.delivered, status: result.status, error: failed.error } : { delivered: result.delivered, status: result.status };
    },
    addSilence: (silence) => ({ id: asBadRequest(() => engine.addSilence(silence as never)).id }),
    removeSilence: (id) => engine.deleteSilence(id),
    listContactPoints: () => engine.listContactPoints(),
    addContactPoint: (contactPoint, replace) => ({ name: asBadRequest(() => engine.addContactPoint(contactPoint as never, { replace })).name }),
    removeContactPoint: (name) => asBadRequest(() => engine.deleteContactPoint(name)),
  };
}

export function catalogSourceOf(catalog: AgentCatalog): CatalogSource {
  return {
    list: (query) => asBadRequest(() => catalog.list(query)),
    countByClass: () => catalog.countByClass(),
  };
}
