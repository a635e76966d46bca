import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { defaultUiDir } from "../../src/inspector/static.ts";
import { createTestEnv } from "../../src/testing/index.ts";
import { Notebook, raw, startFixture, type Fixture } from "./fixture.ts";

let fixture: Fixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("inspector security", () => {
  it("answers 401 without credentials and with a wrong token", async () => {
    fixture = await startFixture();
    const none = await fixture.api("/api/overview", { as: null });
    expect(none.status).toBe(401);
    expect(none.json().error.code).toBe("unauthorized");
    expect(none.json().error.message).toContain("No credentials");
    const wrong = await fixture.api("/api/overview", { as: null, headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error.message).toContain("not this inspector's token");
    expect((await fixture.api("/api/overview")).status).toBe(200);
  });

  it("refuses a Host that is not loopback (DNS rebinding) with 403 bad_host, even with the token", async () => {
    fixture = await startFixture();
    const response = await fixture.api("/api/overview", { headers: { host: "evil.example:80" } });
    expect(response.status).toBe(403);
    expect(response.json().error).toEqual({ code: "bad_host", message: expect.stringContaining('Host "evil.example:80" is not allowed') });
    expect((await fixture.api("/", { headers: { host: "evil.example" } })).status).toBe(403);
    // A bracketed loopback address followed by anything but a port is not a loopback Host.
    expect((await fixture.api("/api/overview", { headers: { host: "[::1]evil.example" } })).status).toBe(403);
    expect((await fixture.api("/api/overview", { headers: { host: `localhost:${fixture.inspector.port}` } })).status).toBe(200);
  });

  it("accepts names listed in allowedHosts", async () => {
    fixture = await startFixture({ allowedHosts: ["inspector.internal"] });
    expect((await fixture.api("/api/overview", { headers: { host: "inspector.internal" } })).status).toBe(200);
  });

  it("refuses a foreign Origin on a change and on the stream with 403 bad_origin", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    const put = await fixture.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", headers: { origin: "http://evil.example" }, body: { state: { count: 5, title: "x" } } });
    expect(put.status).toBe(403);
    expect(put.json().error.code).toBe("bad_origin");
    expect(put.json().error.message).toContain('Origin "http://evil.example" is not the inspector\'s own');
    const stream = await fixture.api("/api/stream", { headers: { origin: "http://evil.example" } });
    expect(stream.status).toBe(403);
    expect((await fixture.api("/api/agents/Notebook/a/state")).json().state.count).toBe(1);
    const own = `http://127.0.0.1:${fixture.inspector.port}`;
    const ok = await fixture.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", headers: { origin: own }, body: { state: { count: 5, title: "x" } } });
    expect(ok.status).toBe(200);
  });

  it("refuses a viewer's change with 403 admin_required", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    const response = await fixture.api("/api/agents/Notebook/a/state", { method: "PUT", body: { state: { count: 9, title: "x" } } });
    expect(response.status).toBe(403);
    expect(response.json().error).toEqual({ code: "admin_required", message: "PUT /api/agents/Notebook/a/state changes data: it needs the admin token" });
  });

  it("exchanges a token for an HttpOnly SameSite=Strict cookie session that needs the page's proof beside it, and signs out", async () => {
    fixture = await startFixture();
    const wrong = await fixture.api("/api/session", { method: "POST", as: null, body: { token: "nope-nope-nope-nope" } });
    expect(wrong.status).toBe(401);
    const login = await fixture.api("/api/session", { method: "POST", as: null, body: { token: fixture.inspector.adminToken } });
    const { role, proof } = login.json() as { role: string; proof: string };
    expect(role).toBe("admin");
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(new RegExp(`^hearth_inspector_${fixture.inspector.port}=[\\w-]+; HttpOnly; SameSite=Strict; Path=/`));
    const session = cookie.split(";")[0]!;
    // The cookie alone is refused: a browser sends it to every port of the host, the page's proof it does not.
    const cookieOnly = await fixture.api("/api/agents/Notebook/a/state", { method: "PUT", as: null, headers: { cookie: session }, body: { state: { n: 1 } } });
    expect(cookieOnly.status).toBe(401);
    expect(cookieOnly.json().error.message).toContain("x-hearth-session");
    const withProof = { cookie: session, "x-hearth-session": proof };
    expect((await fixture.api("/api/session", { as: null, headers: { cookie: session, "x-hearth-session": "not-the-proof" } })).status).toBe(401);
    const me = await fixture.api("/api/session", { as: null, headers: withProof });
    expect(me.json()).toMatchObject({ role: "admin", readOnly: false, host: { dataDir: fixture.t.dataDir, pid: process.pid } });
    await fixture.api("/api/session", { method: "DELETE", as: null, headers: withProof });
    const after = await fixture.api("/api/session", { as: null, headers: withProof });
    expect(after.status).toBe(401);
    expect(after.json().error.message).toContain("session has expired");
  });

  it("keeps the sessions of two inspectors on one host apart: each cookie is named after its port", async () => {
    fixture = await startFixture();
    const other = await startInspector({ host: fixture.t.host, env: {} });
    try {
      // A browser keeps one cookie jar per host name: it sends both cookies to both ports.
      const signIn = async (inspector: InspectorHandle) => {
        const answer = await raw(new URL("/api/session", inspector.url).toString(), { method: "POST", body: { token: inspector.token } });
        return { cookie: String(answer.headers["set-cookie"]).split(";")[0]!, proof: (answer.json() as { proof: string }).proof };
      };
      const first = await signIn(fixture.inspector);
      const second = await signIn(other);
      expect(first.cookie.split("=")[0]).toBe(`hearth_inspector_${fixture.inspector.port}`);
      expect(second.cookie.split("=")[0]).toBe(`hearth_inspector_${other.port}`);
      const jar = `${first.cookie}; ${second.cookie}`;
      const me = (inspector: InspectorHandle, proof: string) => raw(new URL("/api/session", inspector.url).toString(), { headers: { cookie: jar, "x-hearth-session": proof } });
      expect((await me(fixture.inspector, first.proof)).status).toBe(200);
      expect((await me(other, second.proof)).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it("sends nosniff and no-store on the API, and a CSP on the UI", async () => {
    fixture = await startFixture();
    const api = await fixture.api("/api/classes");
    expect(api.headers["x-content-type-options"]).toBe("nosniff");
    expect(api.headers["cache-control"]).toBe("no-store");
    expect(api.headers["content-type"]).toContain("application/json");
    const page = await fixture.api("/agents/Notebook/a", { as: null });
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("serves the UI's index.html and assets, index.html for client routes, a clear page without a UI", async () => {
    const ui = mkdtempSync(join(tmpdir(), "hearth-inspector-ui-"));
    dirs.push(ui);
    mkdirSync(join(ui, "assets"));
    writeFileSync(join(ui, "index.html"), "<!doctype html><title>UI</title>");
    writeFileSync(join(ui, "assets", "app-1234.js"), "console.log(1)");
    writeFileSync(join(ui, "server.js"), "secret");
    fixture = await startFixture({ uiDir: ui });
    expect((await fixture.api("/", { as: null })).text).toContain("<title>UI</title>");
    expect((await fixture.api("/traces/abc", { as: null })).text).toContain("<title>UI</title>");
    const asset = await fixture.api("/assets/app-1234.js", { as: null });
    expect(asset.headers["content-type"]).toContain("text/javascript");
    expect(asset.text).toBe("console.log(1)");
    expect((await fixture.api("/server.js", { as: null })).text).toContain("<title>UI</title>");
    expect((await fixture.api("/assets/%2e%2e/server.js", { as: null })).text).not.toContain("secret");
    expect((await fixture.api("/assets/..%2fserver.js", { as: null })).status).toBe(404);
    expect((await fixture.api("/assets/missing.js", { as: null })).status).toBe(404);
    expect((await fixture.api("/api/nothing-here")).json().error.code).toBe("not_found");
    await fixture.close();
    fixture = await startFixture({ uiDir: join(ui, "missing") });
    const none = await fixture.api("/", { as: null });
    expect(none.status).toBe(200);
    expect(none.text).toContain("built without the inspector's web UI");
  });

  it("looks for the prebuilt UI in dist/inspector of the package", () => {
    expect(defaultUiDir().replaceAll("\\", "/")).toMatch(/\/dist\/inspector\/?$/);
  });

  it("refuses a body over the limit with 413 and malformed JSON with 400", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    const big = await fixture.api("/api/agents/Notebook/a/sql/query", { method: "POST", body: { sql: "SELECT 1", pad: "x".repeat(1024 * 1024) } });
    expect(big.status).toBe(413);
    expect(big.json().error.message).toBe("The request body is larger than 1048576 bytes (the inspector's limit)");
    const bad = await fixture.api("/api/agents/Notebook/a/sql/query", { method: "POST", body: "{nope" });
    expect(bad.status).toBe(400);
    expect(bad.json().error.message).toContain("The body is not valid JSON");
  });

  it("never listens beyond loopback unless allowRemote, and then warns", async () => {
    const t = await createTestEnv({ agents: { Notebook } });
    try {
      await expect(startInspector({ host: t.host, env: {}, hostname: "0.0.0.0" })).rejects.toThrow(
        "The inspector refuses to listen on 0.0.0.0: it is not a loopback address. Pass allowRemote: true (--inspector-host) to expose it beyond this machine.",
      );
      const open = await startInspector({ host: t.host, env: {}, hostname: "0.0.0.0", allowRemote: true });
      try {
        expect(open.warning).toContain("WARNING: the inspector listens on 0.0.0.0, beyond this machine");
      } finally {
        await open.close();
      }
      const local = await startInspector({ host: t.host, env: {} });
      try {
        expect(local.warning).toBeUndefined();
        expect(local.url).toBe(`http://127.0.0.1:${local.port}/`);
        expect(local.openUrl).toBe(`${local.url}#token=${local.token}`);
      } finally {
        await local.close();
      }
    } finally {
      await t.close();
    }
  });

  it("takes tokens from the environment; generates the admin token into <dataDir>/inspector/admin-token (0600) and reuses it", async () => {
    const t = await createTestEnv({ agents: { Notebook } });
    try {
      const fromEnv = await startInspector({ host: t.host, env: { HEARTH_INSPECTOR_TOKEN: "viewer-token-0123456789", HEARTH_INSPECTOR_ADMIN_TOKEN: "admin-token-0123456789" } });
      expect([fromEnv.token, fromEnv.adminToken, fromEnv.adminTokenFile]).toEqual(["viewer-token-0123456789", "admin-token-0123456789", undefined]);
      await fromEnv.close();
      const first = await startInspector({ host: t.host, env: {} });
      await first.close();
      const file = join(t.dataDir, "inspector", "admin-token");
      expect(first.adminTokenFile).toBe(file);
      expect(readFileSync(file, "utf8").trim()).toBe(first.adminToken);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = await startInspector({ host: t.host, env: {} });
      await second.close();
      expect(second.adminToken).toBe(first.adminToken);
      expect(second.token).not.toBe(first.token);
      await expect(startInspector({ host: t.host, env: { HEARTH_INSPECTOR_TOKEN: "short" } })).rejects.toThrow(
        "the viewer token (HEARTH_INSPECTOR_TOKEN) must be at least 16 characters without spaces",
      );
    } finally {
      await t.close();
    }
  });

  it("answers 405 for a wrong method and lists the allowed ones", async () => {
    fixture = await startFixture();
    const response = await fixture.api("/api/classes", { method: "DELETE", as: "admin" });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe("GET");
  });

  it("serves /api/openapi.json listing the routes", async () => {
    fixture = await startFixture();
    const doc = (await fixture.api("/api/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/api/agents/{class}/{name}/state"].put.summary).toContain("validateStateChange");
    expect(Object.keys(doc.paths).length).toBeGreaterThan(35);
    // Every route has a summary of its own (a missing one would show as "METHOD /path").
    const operations = Object.entries(doc.paths as Record<string, Record<string, { summary: string }>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, summary: op.summary })),
    );
    expect(operations.filter((op) => op.summary === op.key).map((op) => op.key)).toEqual([]);
    // Each answer's real status and type, not 200 JSON for all.
    const success = (path: string, method: string) => Object.entries(doc.paths[path][method].responses).find(([status]) => status !== "default")!;
    expect(success("/api/agents/{class}/{name}/queue/{id}/run", "post")[0]).toBe("202");
    expect(success("/api/workflows/{workflow}", "post")[0]).toBe("201");
    expect(success("/api/alerts/silences", "post")[0]).toBe("201");
    expect(success("/api/agents/{class}/{name}/state", "put")[0]).toBe("200");
    expect(Object.keys((success("/metrics", "get")[1] as { content: object }).content)).toEqual(["text/plain"]);
    expect(Object.keys((success("/api/stream", "get")[1] as { content: object }).content)).toEqual(["text/event-stream"]);
  });
});

describe("the audit log", () => {
  it("pages newest first and refuses a cursor it did not give out", async () => {
    fixture = await startFixture();
    await fixture.t.get<Notebook>("Notebook", "a").add(1);
    for (let count = 1; count <= 3; count++) {
      await fixture.api("/api/agents/Notebook/a/state", { method: "PUT", as: "admin", body: { state: { count, title: "t" } } });
    }
    const first = (await fixture.api("/api/audit?limit=2")).json();
    expect(first.items).toHaveLength(2);
    const second = (await fixture.api(`/api/audit?limit=2&cursor=${first.next}`)).json();
    expect(second).toMatchObject({ items: [{ action: "state.set" }], next: null });
    const bad = await fixture.api("/api/audit?cursor=!!");
    expect(bad.json().error).toEqual({ code: "bad_request", message: "cursor is not a cursor this API gave out" });
  });
});
