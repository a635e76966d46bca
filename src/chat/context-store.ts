/**
 * The last chat request's body and client tools (`hearth_chat_context`): continuations, perhaps
 * hours later and after restarts, get them again, as `continueLastTurn` and recovery do. It also
 * holds whether a client's tool answer left a continuation due that has not started yet.
 */
import type { SqlTag } from "../storage/sql.ts";
import type { ClientToolSchema } from "./frames.ts";

export interface RequestContext {
  body: Record<string, unknown> | undefined;
  clientTools: ClientToolSchema[] | undefined;
}

export class ContextStore {
  readonly #sql: SqlTag;

  constructor(sql: SqlTag) {
    this.#sql = sql;
  }

  get(): RequestContext {
    const context: RequestContext = { body: undefined, clientTools: undefined };
    for (const row of this.#sql<{ key: string; value: string }>`SELECT key, value FROM hearth_chat_context`) {
      if (row.key === "body") context.body = JSON.parse(row.value) as Record<string, unknown>;
      if (row.key === "clientTools") context.clientTools = JSON.parse(row.value) as ClientToolSchema[];
    }
    return context;
  }

  /** A tool answer was applied whose continuation has not started: start-up runs it if the process stopped first. */
  get continuationDue(): boolean {
    return this.#sql<{ n: number }>`SELECT count(*) AS n FROM hearth_chat_context WHERE key = 'continuationDue'`[0]!.n > 0;
  }

  set continuationDue(due: boolean) {
    if (due) this.#sql`INSERT INTO hearth_chat_context (key, value) VALUES ('continuationDue', 'true') ON CONFLICT (key) DO NOTHING`;
    else this.#sql`DELETE FROM hearth_chat_context WHERE key = 'continuationDue'`;
  }

  save(context: RequestContext): void {
    for (const key of ["body", "clientTools"] as const) {
      const value = context[key];
      if (value === undefined) this.#sql`DELETE FROM hearth_chat_context WHERE key = ${key}`;
      else this.#sql`INSERT INTO hearth_chat_context (key, value) VALUES (${key}, ${JSON.stringify(value)})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    }
  }
}
