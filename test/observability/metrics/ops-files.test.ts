import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, Host } from "../../../src/index.ts";
import { createHearthMetrics } from "../../../src/observability/metrics/index.ts";
import { parsePrometheusText } from "./prom-text.ts";

class Counter extends Agent {}

const root = join(import.meta.dirname, "../../..");
let dataDir: string | undefined;
let host: Host | undefined;
afterEach(async () => {
  await host?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Every sample name Hearth's metrics can write: each family, plus a histogram's suffixed names. */
function exposedNames(): Set<string> {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-metrics-ops-"));
  host = new Host({ dataDir, agents: { Counter } });
  const metrics = createHearthMetrics({ host });
  try {
    const names = new Set<string>();
    for (const family of parsePrometheusText(metrics.expose())) {
      names.add(family.name);
      if (family.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(family.name + suffix);
    }
    return names;
  } finally {
    metrics.close();
  }
}

const referenced = (text: string) => new Set(text.match(/\bhearth_[a-z0-9_]+/g) ?? []);

describe("docs/ops and the metrics page", () => {
  it("the Grafana dashboard is JSON whose queries use only metrics Hearth writes", () => {
    const text = readFileSync(join(root, "docs/ops/grafana-dashboard.json"), "utf8");
    const dashboard = JSON.parse(text) as { panels: Array<{ type: string; targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    expect(exprs.length).toBeGreaterThan(10);
    const names = exposedNames();
    for (const name of referenced(exprs.join("\n"))) expect(names, name).toContain(name);
  });

  it("every alert rule has an expression over metrics Hearth writes", () => {
    const text = readFileSync(join(root, "docs/ops/alerts.yml"), "utf8");
    const rules = text.split(/\n\s+- alert: /).slice(1);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) expect(rule).toMatch(/\n\s+expr: /);
    const names = exposedNames();
    for (const name of referenced(text)) expect(names, name).toContain(name);
  });

  it("the metrics page documents every metric Hearth writes", () => {
    const page = readFileSync(join(root, "docs/observability/metrics.md"), "utf8");
    for (const name of exposedNames()) {
      if (/_(bucket|sum|count)$/.test(name)) continue;
      expect(page, name).toContain(`| \`${name}\` |`);
    }
  });
});
