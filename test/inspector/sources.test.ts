import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../../src/observability/alerts/alert-engine.ts";
import { createHearthMetrics } from "../../src/observability/metrics/index.ts";
import { LogStore } from "../../src/observability/store/log-store.ts";
import { ProblemStore } from "../../src/observability/store/problems.ts";
import { SpanStore } from "../../src/observability/traces/store.ts";
import { startFixture, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-inspector-sources-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("inspector sections backed by the observability stores", () => {
  it("lists and searches agents through the host's catalog, with totals per class", async () => {
    const f = (fixture = await startFixture());
    for (const name of ["alice", "alfred", "bob"]) await f.t.get<Notebook>("Notebook", name).add(1);
    const all = (await f.api("/api/agents?class=Notebook&limit=2")).json();
    expect(all.items).toHaveLength(2);
    expect(all.next).toEqual(expect.any(String));
    const found = (await f.api("/api/agents?class=Notebook&q=al")).json();
    expect(found.items.map((item: { name: string }) => item.name).sort()).toEqual(["alfred", "alice"]);
    expect(found.items[0]).toMatchObject({ class: "Notebook", live: true, lastActiveAt: expect.any(Number) });
    const classes = (await f.api("/api/classes")).json();
    expect(classes[0]).toMatchObject({ class: "Notebook", total: 3, live: 3, hibernated: 0 });
    expect((await f.api("/api/agents?limit=501")).json().error.message).toBe("limit must be an integer from 1 to 500, got \"501\"");
  });

  it("serves traces, logs, problems, metrics and alerts from the stores it is given", async () => {
    const dir = tempDir();
    const spanStore = new SpanStore();
    const logStore = new LogStore();
    const problemStore = new ProblemStore();
    cleanups.push(() => {
      spanStore.close();
      logStore.close();
    });
    let metrics: ReturnType<typeof createHearthMetrics> | undefined;
    const f = (fixture = await startFixture((t) => {
      metrics = createHearthMetrics({ host: t.host });
      const alertEngine = new AlertEngine({ path: join(dir, "alerts.sqlite"), metrics: metrics.registry });
      cleanups.push(() => alertEngine.close());
      return { spanStore, logStore, problemStore, alertEngine, metrics };
    }));
    cleanups.push(() => metrics?.close());
    const api = f.api;
    spanStore.add({ traceId: "a".repeat(32), spanId: "b".repeat(16), name: "GET /agents/notebook/a", kind: "server", startedAt: 1000, endedAt: 1020, status: { code: 2, message: "boom" }, attributes: { "hearth.agent.class": "Notebook" }, events: [], links: [] });
    spanStore.flush();
    logStore.write(JSON.stringify({ level: 50, time: 5, msg: "it broke", agent: "Notebook", name: "a" }));
    problemStore.record({ name: "TypeError", message: "x is undefined", time: 10, class: "Notebook", agent: "a" });
    const traces = (await api("/api/traces?error=true")).json();
    expect(traces.items[0]).toMatchObject({ traceId: "a".repeat(32) });
    expect((await api(`/api/traces/${"a".repeat(32)}`)).json().spans[0]).toMatchObject({ name: "GET /agents/notebook/a", status: { code: 2 } });
    expect((await api("/api/traces/nope")).status).toBe(404);
    const logs = (await api("/api/logs?level=error")).json();
    expect(logs.items[0]).toMatchObject({ msg: "it broke", level: 50 });
    // "true" and "false" are text where the API takes text: a word to search for, a class's name.
    logStore.write(JSON.stringify({ level: 30, time: 6, msg: "a true story", agent: "false", name: "true" }));
    expect((await api("/api/logs?q=true")).json().items.map((item: { msg: string }) => item.msg)).toEqual(["a true story"]);
    expect((await api("/api/logs?class=false")).json().items.map((item: { msg: string }) => item.msg)).toEqual(["a true story"]);
    expect((await api("/api/logs?agent=true")).json().items.map((item: { msg: string }) => item.msg)).toEqual(["a true story"]);
    expect((await api("/api/traces?error=false")).json().items).toEqual([]);
    const notBoolean = await api("/api/traces?error=yes");
    expect(notBoolean.status).toBe(400);
    expect(notBoolean.json().error.message).toBe('error must be true or false, got "yes"');
    const overview = (await api("/api/overview")).json();
    expect(overview.problems[0]).toMatchObject({ name: "TypeError", message: "x is undefined", count: 1, agent: { class: "Notebook", name: "a" } });
    const metricsJson = (await api("/api/metrics")).json();
    expect(metricsJson.series.some((series: { name: string }) => series.name === "hearth_process_memory_bytes")).toBe(true);
    expect(metricsJson.history.hearth_process_memory_bytes).toHaveLength(1);
    const prom = await api("/metrics");
    expect(prom.headers["content-type"]).toContain("text/plain");
    expect(prom.text).toContain("# TYPE hearth_process_memory_bytes gauge");
    const rule = { kind: "metric", name: "Many agents", metric: "hearth_agents", threshold: 100, severity: "warning" };
    expect((await api("/api/alerts/rules", { method: "POST", body: rule })).status).toBe(403);
    const created = await api("/api/alerts/rules", { method: "POST", as: "admin", body: rule });
    expect(created.status).toBe(201);
    const id = created.json().id;
    expect((await api("/api/alerts")).json().rules[0]).toMatchObject({ id, name: "Many agents", state: "inactive" });
    const bad = await api("/api/alerts/rules", { method: "POST", as: "admin", body: { kind: "metric" } });
    expect(bad.status).toBe(400);
    const silence = await api("/api/alerts/silences", { method: "POST", as: "admin", body: { matchers: { rule: id }, until: Date.now() + 60_000, comment: "deploy" } });
    expect(silence.status).toBe(201);
    expect((await api(`/api/alerts/silences/${silence.json().id}`, { method: "DELETE", as: "admin" })).json()).toEqual({ deleted: true });
    expect((await api(`/api/alerts/rules/${id}`, { method: "DELETE", as: "admin" })).json()).toEqual({ deleted: true });
    expect((await api(`/api/alerts/rules/${id}`, { method: "DELETE", as: "admin" })).status).toBe(404);
    expect((await api("/api/alerts/history")).json()).toMatchObject({ items: expect.any(Array) });
    const actions = (await api("/api/audit")).json().items.map((entry: { action: string }) => entry.action);
    expect(actions).toEqual(["alert.rule.remove", "alert.rule.remove", "alert.silence.remove", "alert.silence.add", "alert.rule.add", "alert.rule.add"]);
  });
});

describe("live logs and spans", () => {
  it("streams new log entries and ended spans, and `hearth inspect logs --follow` prints log entries as JSON lines", async () => {
    const spanStore = new SpanStore();
    const logStore = new LogStore();
    cleanups.push(() => {
      spanStore.close();
      logStore.close();
    });
    const f = (fixture = await startFixture({ spanStore, logStore }));
    const { runInspectCommand } = await import("../../src/cli/inspect.ts");
    const lines: string[] = [];
    const abort = new AbortController();
    const env = { HEARTH_INSPECTOR_URL: f.inspector.url, HEARTH_INSPECTOR_TOKEN: f.inspector.token };
    const following = runInspectCommand(["logs", "--follow"], process.cwd(), env, { stdout: (text) => lines.push(text), stderr: (text) => lines.push(`ERR ${text}`), signal: abort.signal });
    let seq = 0;
    while (!lines.some((line) => line.includes("followed"))) {
      if (seq > 200) throw new Error(`no log line arrived: ${lines.join("")}`);
      logStore.write(JSON.stringify({ level: 30, time: Date.now(), msg: `followed ${seq++}` }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    abort.abort();
    expect(await following).toBe(0);
    const entry = JSON.parse(lines.find((line) => line.includes("followed"))!);
    expect(entry).toMatchObject({ level: 30, msg: expect.stringMatching(/^followed \d+$/) });
    const spans = new AbortController();
    const response = await fetch(new URL("/api/stream?topics=spans", f.inspector.url), { headers: { authorization: `Bearer ${f.inspector.token}` }, signal: spans.signal });
    const reader = response.body!.getReader();
    let text = "";
    const reading = (async () => {
      while (!text.includes("event: spans")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    for (let i = 0; !text.includes("event: spans") && i < 200; i++) {
      spanStore.add({ traceId: "c".repeat(32), spanId: i.toString(16).padStart(16, "0"), name: "rpc add", kind: "internal", startedAt: 1, endedAt: 2, status: { code: 0 }, attributes: {}, events: [], links: [] });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await reading;
    spans.abort();
    expect(text).toMatch(/id: \d+\nevent: spans\ndata: \{"traceId":"c{32}"/);
  });
});
