/**
 * Alert contact points through the inspector's API, delivering to a real webhook receiver on
 * loopback; a test with no contact point is the caller's mistake (400), not a server error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../../src/observability/alerts/alert-engine.ts";
import { startFixture, type Fixture } from "./fixture.ts";

let fixture: Fixture | undefined;
let receiver: Server | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  receiver = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A webhook receiver on loopback: every body it got, and the Authorization header with it. */
async function webhookReceiver(): Promise<{ url: string; received: Array<{ body: unknown; authorization: string | undefined }> }> {
  const received: Array<{ body: unknown; authorization: string | undefined }> = [];
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown, authorization: request.headers.authorization });
      response.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?secret=s3`, received };
}

async function withAlerts(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-inspector-alerts-"));
  const engine = new AlertEngine({ path: join(dir, "alerts.sqlite") });
  cleanups.push(() => {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  fixture = await startFixture({ alertEngine: engine });
  return fixture;
}

describe("inspector: alert contact points", () => {
  it("adds, lists, tests through and deletes a contact point; every write audited", async () => {
    const f = await withAlerts();
    const hook = await webhookReceiver();
    const rule = (await f.api("/api/alerts/rules", { method: "POST", as: "admin", body: { kind: "metric", name: "Many agents", metric: "hearth_agents", threshold: 100, severity: "warning" } })).json().id as string;

    const untested = await f.api(`/api/alerts/rules/${rule}/test`, { method: "POST", as: "admin" });
    expect(untested.status).toBe(400);
    expect(untested.json().error).toEqual({ code: "bad_request", message: "rule.contactPoints cannot be tested: there is no contact point" });

    const point = { name: "ops", kind: "webhook", url: hook.url, headers: { Authorization: "Bearer hook-token" } };
    expect((await f.api("/api/alerts/contact-points", { method: "POST", body: point })).status).toBe(403);
    const added = await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: point });
    expect(added.status).toBe(201);
    expect(added.json()).toEqual({ name: "ops" });
    const listed = (await f.api("/api/alerts/contact-points")).json();
    expect(listed).toEqual({ contactPoints: [{ name: "ops", kind: "webhook", url: `${new URL(hook.url).origin}/…`, headers: ["Authorization"] }] });

    const tested = await f.api(`/api/alerts/rules/${rule}/test`, { method: "POST", as: "admin" });
    expect(tested.json()).toEqual({ delivered: true, status: 200 });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.authorization).toBe("Bearer hook-token");
    expect(JSON.stringify(hook.received[0]!.body)).toContain("Many agents");

    const again = await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: point });
    expect(again.status).toBe(400);
    expect(again.json().error.message).toBe('contactPoint.name "ops" is already used; delete it first or pass { replace: true }');
    expect((await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: { ...point, replace: true } })).status).toBe(201);
    const badKind = await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: { ...point, name: "x", kind: "email" } });
    expect(badKind.json().error.message).toBe('contactPoint.kind must be "slack" or "webhook", got "email"');
    const badReplace = await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: { ...point, replace: "yes" } });
    expect(badReplace.json().error.message).toBe("replace must be true or false");

    expect((await f.api("/api/alerts/contact-points/ops", { method: "DELETE", as: "admin" })).json()).toEqual({ deleted: true });
    const gone = await f.api("/api/alerts/contact-points/ops", { method: "DELETE", as: "admin" });
    expect(gone.status).toBe(404);
    expect(gone.json().error.message).toBe('No contact point "ops"');

    const audit = (await f.api("/api/audit")).json().items as Array<{ action: string; detail: Record<string, unknown> }>;
    const adds = audit.filter((row) => row.action === "alert.contact-point.add");
    expect(adds).toHaveLength(4);
    expect(JSON.stringify(adds)).not.toContain("secret=s3");
    expect(JSON.stringify(adds)).not.toContain("hook-token");
    expect(audit.filter((row) => row.action === "alert.contact-point.remove")).toHaveLength(2);
  });

  it("refuses to delete a contact point a rule still uses", async () => {
    const f = await withAlerts();
    const hook = await webhookReceiver();
    await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: { name: "pager", kind: "slack", url: hook.url } });
    const rule = (await f.api("/api/alerts/rules", { method: "POST", as: "admin", body: { kind: "metric", name: "Busy", metric: "hearth_agents", threshold: 1, severity: "critical", contactPoints: ["pager"] } })).json().id as string;
    const refused = await f.api("/api/alerts/contact-points/pager", { method: "DELETE", as: "admin" });
    expect(refused.status).toBe(400);
    expect(refused.json().error.message).toBe(`contactPoint.name "pager" is used by rule(s) ${rule}; change or delete them first`);
    expect((await f.api("/api/alerts/contact-points")).json().contactPoints).toHaveLength(1);
  });

  it("answers not_enabled without an alert engine", async () => {
    fixture = await startFixture();
    const response = await fixture.api("/api/alerts/contact-points");
    expect(response.status).toBe(404);
    expect(response.json().error.code).toBe("not_enabled");
  });
});

describe("inspector: testing a rule whose contact point does not answer", () => {
  it("reports status null (none answered) and why, as docs/observability/alerts.md says", async () => {
    const f = await withAlerts();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect((await f.api("/api/alerts/contact-points", { method: "POST", as: "admin", body: { name: "dead", kind: "webhook", url: deadUrl } })).status).toBe(201);
    const deadRule = (await f.api("/api/alerts/rules", { method: "POST", as: "admin", body: { kind: "metric", name: "Dead end", metric: "hearth_agents", threshold: 1, severity: "info", contactPoints: ["dead"] } })).json().id as string;
    const unanswered = (await f.api(`/api/alerts/rules/${deadRule}/test`, { method: "POST", as: "admin" })).json();
    expect(unanswered).toEqual({ delivered: false, status: null, error: expect.stringMatching(/ECONNREFUSED|fetch failed|refused/) });
  });
});
