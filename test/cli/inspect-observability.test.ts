import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { jsonLines, inspectAppForFile, visitUntil, type InspectApp } from "./inspect-support.ts";

let app: InspectApp;
inspectAppForFile((started) => (app = started));

describe("hearth inspect logs", { timeout: 120_000 }, () => {
  it("applies --level and --q to each entry it follows, not only to stored ones", async () => {
    // The fixture's /log writes "routine" (info), "careful" (warn) and "broken" (error), in that order.
    const errors = app.follow(["logs", "--follow", "--level", "error", "--class", "Kitchen"]);
    const careful = app.follow(["logs", "--follow", "--q", "CAREFUL"]);
    await visitUntil(app, "/agents/kitchen/l1/log?marker=live", () => errors.stdout().includes("broken") && careful.stdout().includes("careful"), "both followers to print a line");
    const errorLines = jsonLines(errors.stdout());
    expect(errorLines.length).toBeGreaterThan(0);
    for (const line of errorLines) expect(line).toMatchObject({ level: 50, class: "Kitchen", msg: expect.stringMatching(/^broken/) });
    const carefulLines = jsonLines(careful.stdout());
    expect(carefulLines.length).toBeGreaterThan(0);
    for (const line of carefulLines) expect(line.msg).toMatch(/^careful/);
    errors.proc.kill("SIGTERM");
    careful.proc.kill("SIGTERM");
    await Promise.all([errors.exited(), careful.exited()]);
  });

  it("refuses --since with --follow, and reads stored entries since a duration ago", async () => {
    await app.visit("/agents/kitchen/l2/log?marker=stored");
    const refused = await app.inspect(["logs", "--follow", "--since", "5m"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("hearth inspect: --since picks from the entries already kept, --follow prints new ones as they come");
    const badLevel = await app.inspect(["logs", "--follow", "--level", "loud"]);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain('Unknown log level "loud"');

    const before = Date.now();
    const stored = (await app.inspect(["logs", "--since", "1h", "--level", "warn", "--agent", "l2"])).json().items as Array<{ level: number; msg: string; time: number }>;
    expect(stored.map((entry) => entry.msg)).toEqual(["broken stored", "careful stored"]);
    for (const entry of stored) expect(entry.time).toBeGreaterThan(before - 3_600_000);
  });
});

describe("hearth inspect metrics and stream", { timeout: 120_000 }, () => {
  it("prints the metric series, or the Prometheus text with --prometheus", async () => {
    await app.visit("/agents/kitchen/m1");
    const [json, text, pretty] = await Promise.all([app.inspect(["metrics"]), app.inspect(["metrics", "--prometheus"]), app.inspect(["metrics", "--prometheus", "--pretty"])]);
    expect(json.json().series).toContainEqual(expect.objectContaining({ name: "hearth_http_requests_total", labels: expect.objectContaining({ class: "Kitchen" }) }));
    expect(text.stdout).toMatch(/^# TYPE hearth_http_requests_total counter$/m);
    expect(pretty.code).toBe(2);
    expect(pretty.stderr).toContain("--pretty formats JSON; this prints the text exposition as it is");
  });

  it("follows the live stream's topics as { topic, id, data } lines", async () => {
    const stream = app.follow(["stream", "--topics", "logs", "--class", "Kitchen"]);
    await visitUntil(app, "/agents/kitchen/s1/log?marker=streamed", () => jsonLines(stream.stdout()).length > 0, "the stream to print a line");
    for (const line of jsonLines(stream.stdout())) expect(line).toMatchObject({ topic: "logs", id: expect.any(String), data: { class: "Kitchen" } });
    stream.proc.kill("SIGTERM");
    await stream.exited();
  });
});

describe("hearth inspect alerts", { timeout: 120_000 }, () => {
  it("adds a contact point, a rule and a silence, tests the rule, and deletes them", async () => {
    const hooks: IncomingHttpHeaders[] = [];
    const receiver = createServer((request, response) => {
      hooks.push(request.headers);
      request.resume();
      response.end("ok");
    }).listen(0, "127.0.0.1");
    await once(receiver, "listening");
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      expect((await app.inspect(["add-contact-point", "ops", "webhook", hook, "--header", "X-Key: k1"])).json()).toEqual({ name: "ops" });
      expect((await app.inspect(["contact-points"])).json().contactPoints).toEqual([expect.objectContaining({ name: "ops", kind: "webhook", headers: ["X-Key"] })]);
      const rule = { id: "errs", kind: "error", name: "Errors", window: "15m", threshold: 5, severity: "warning", contactPoints: ["ops"] };
      expect((await app.inspect(["add-alert-rule", JSON.stringify(rule)])).json()).toEqual({ id: "errs" });
      expect((await app.inspect(["test-alert-rule", "errs"])).json()).toMatchObject({ delivered: true, status: 200 });
      expect(hooks.map((headers) => headers["x-key"])).toEqual(["k1"]);

      const before = Date.now();
      const silence = (await app.inspect(["silence", "--rule", "errs", "--for", "2h", "--comment", "deploying"])).json() as { id: string };
      const alerts = (await app.inspect(["alerts"])).json();
      expect(alerts.rules.map((one: { id: string }) => one.id)).toEqual(["errs"]);
      const silenced = alerts.silences.find((one: { id: string }) => one.id === silence.id);
      expect(silenced).toMatchObject({ matchers: { rule: "errs" }, comment: "deploying" });
      expect(silenced.until).toBeGreaterThanOrEqual(before + 7_200_000);
      const unmatched = await app.inspect(["silence", "--for", "2h"]);
      expect(unmatched.code).toBe(2);
      expect(unmatched.stderr).toContain("silence needs what to silence: --rule <id>, --severity <severity> or --class <class>");

      expect((await app.inspect(["delete-silence", silence.id])).json()).toEqual({ deleted: true });
      expect((await app.inspect(["delete-alert-rule", "errs"])).json()).toEqual({ deleted: true });
      expect((await app.inspect(["delete-contact-point", "ops"])).json()).toEqual({ deleted: true });
      expect((await app.inspect(["alerts"])).json()).toMatchObject({ rules: [], silences: [] });
      expect((await app.inspect(["alert-history"])).json()).toEqual({ items: expect.any(Array), next: null });
      const actions = ((await app.inspect(["audit", "--limit", "7"])).json().items as Array<{ action: string }>).map((row) => row.action);
      expect(actions).toEqual(["alert.contact-point.remove", "alert.rule.remove", "alert.silence.remove", "alert.silence.add", "alert.rule.test", "alert.rule.add", "alert.contact-point.add"]);
    } finally {
      receiver.close();
    }
  });
});
