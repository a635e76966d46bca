/**
 * Signing in and out (`/api/session`): a token exchanged for an HttpOnly cookie session and the proof
 * the page sends with it (security.ts says why the cookie alone is not enough).
 */
import { ApiError, badRequest } from "../http.ts";
import type { Route } from "../router.ts";
import type { Credentials } from "../security.ts";

export function sessionRoutes(credentials: Credentials): Route[] {
  return [
    {
      method: "POST",
      path: "/api/session",
      open: true,
      handler: async (ctx) => {
        const body = await ctx.body();
        if (typeof body.token !== "string" || body.token === "") throw badRequest("The body must be { token: string }");
        const role = credentials.roleOfToken(body.token);
        if (!role) throw new ApiError(401, "unauthorized", "The token is not this inspector's viewer or admin token");
        const { id, proof } = credentials.openSession(role);
        return { json: { role, proof }, headers: { "set-cookie": credentials.cookie(id) } };
      },
    },
    {
      method: "GET",
      path: "/api/session",
      handler: (ctx) => ({
        json: {
          role: ctx.role,
          readOnly: ctx.role !== "admin",
          host: { version: ctx.info.version, node: process.version, dataDir: ctx.info.dataDir, pid: process.pid, startedAt: ctx.info.startedAt },
        },
      }),
    },
    {
      method: "DELETE",
      path: "/api/session",
      open: true,
      handler: (ctx) => {
        credentials.closeSession(ctx.request);
        return { json: { signedOut: true }, headers: { "set-cookie": credentials.cookie("") } };
      },
    },
  ];
}
