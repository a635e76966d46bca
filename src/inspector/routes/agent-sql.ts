/**
 * An agent's SQL: schema, paged table rows and the query console (docs/inspector/api.md §Agents).
 */
import { HANDLE } from "../../agent/agent-base.ts";
import { leadingLength } from "../../storage/refused-statements.ts";
import { splitStatements } from "../../storage/split-statements.ts";
import { ApiError, badRequest, cursorOffset, offsetCursor, pageLimit } from "../http.ts";
import type { Route } from "../router.ts";
import { runQuery } from "../sql-console.ts";
import { readSchema, readTablePage } from "../sql-schema.ts";
import { agentAddress, inAgentBase } from "./agent-address.ts";

export const agentSqlRoutes: Route[] = [
  {
    method: "GET",
    path: "/api/agents/:class/:name/sql/schema",
    handler: async (ctx) => ({ json: await inAgentBase(ctx, ({ db }) => readSchema(db)) }),
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/sql/tables/:table",
    handler: async (ctx) => {
      const offset = cursorOffset(ctx.query);
      const limit = pageLimit(ctx.query);
      const page = await inAgentBase(ctx, ({ db }) => readTablePage(db, ctx.params.table!, offset, limit));
      return { json: { columns: page.columns, rows: page.rows, next: page.nextOffset === null ? null : offsetCursor(page.nextOffset) } };
    },
  },
  {
    // Not a `write` route: reads are open to viewers; a write is checked below (admin, Origin, audit).
    method: "POST",
    path: "/api/agents/:class/:name/sql/query",
    handler: async (ctx) => {
      const body = await ctx.body();
      if (body.write !== undefined && typeof body.write !== "boolean") throw badRequest(`write must be true or false, got ${JSON.stringify(body.write)}`);
      const write = body.write === true;
      if (!write) return { json: await inAgentBase(ctx, ({ db }) => runQuery(db, body.sql, body.params, false, ctx.role === "admin")) };
      if (ctx.role !== "admin") throw new ApiError(403, "admin_required", "SQL writes need the admin token (write: true was sent with a viewer's credentials)");
      const address = agentAddress(ctx);
      // Each statement's first keyword too: a long text's middle is cut from the audit row, not these.
      const detail = { sql: body.sql, params: body.params ?? null, ...(typeof body.sql === "string" ? { statements: splitStatements(body.sql).map(firstKeyword) } : {}) };
      const result = await ctx.audited("sql.write", address.label, detail, () =>
        inAgentBase(ctx, ({ db, actor }) => {
          const result = runQuery(db, body.sql, body.params, true);
          // The agent's in-memory copies (state, tasks) may be stale now: it reads them again.
          actor[HANDLE.invalidate]();
          return { result, after: { rowsAffected: result.rowsAffected } };
        }),
      );
      return { json: result };
    },
  },
];

/** A statement's first keyword, upper-cased (`""` when it starts with none). */
function firstKeyword(statement: string): string {
  return /^[a-z]+/i.exec(statement.slice(leadingLength(statement)))?.[0]?.toUpperCase() ?? "";
}
