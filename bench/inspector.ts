/**
 * The inspector in a browser: how much JavaScript its first load fetches, and how long the overview and
 * the agents list take to show 100,000 agents. The agents are rows of the host's agent catalog (what
 * the overview and the list read; making 100,000 agent files first is the many-agents benchmark's job),
 * plus one real agent. Headless Chromium from /usr/bin/chromium; the time runs from navigation to the
 * numbers on screen, API calls included.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { chromium, type Page } from "playwright-core";
import { Agent, Host } from "../dist/index.js";
import { startInspector } from "../dist/inspector/index.js";
import { emit, flag, log, withDataDir, type Row } from "./lib/common.ts";

const AGENTS = Number(flag("agents") ?? 100_000);
const CHROMIUM = "/usr/bin/chromium";
const ROUNDS = 5;

class Counter extends Agent<unknown, { count: number }> {
  override initialState = { count: 0 };
}

/** Fills the catalog with `count` more agents of the class whose slug the one real agent got. */
function fillCatalog(dataDir: string, count: number): void {
  const db = new DatabaseSync(join(dataDir, "catalog.sqlite"));
  try {
    const slug = (db.prepare("SELECT slug FROM agents LIMIT 1").get() as { slug: string }).slug;
    const insert = db.prepare("INSERT OR IGNORE INTO agents (slug, name, created_at, last_active_at) VALUES (?, ?, ?, ?)");
    const now = Date.now();
    db.exec("BEGIN");
    for (let i = 0; i < count; i++) insert.run(slug, `customer-${String(i).padStart(6, "0")}`, now - i, now - i);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** Milliseconds from navigating to `url` until `text` is on screen; the median of ROUNDS loads. */
async function timeToText(page: Page, url: string, text: string): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await page.goto("about:blank");
    const started = performance.now();
    await page.goto(url);
    await page.getByText(text, { exact: false }).first().waitFor({ timeout: 30_000 });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

if (!existsSync(CHROMIUM)) {
  log(`no Chromium at ${CHROMIUM}: skipped`);
  emit([]);
} else {
  const rows = await withDataDir("inspector", undefined, async (dataDir) => {
    const first = new Host({ dataDir, agents: { Counter } });
    await first.start("Counter", "seed");
    await first.close();
    fillCatalog(dataDir, AGENTS);
    const host = new Host({ dataDir, agents: { Counter } });
    const inspector = await startInspector({ host, port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      let scriptBytes = 0;
      page.on("response", (response) => {
        if (response.request().resourceType() !== "script") return;
        void response.body().then((body) => (scriptBytes += body.length), () => undefined);
      });
      await page.goto(inspector.openUrl);
      await page.getByRole("heading", { name: "Overview" }).waitFor({ timeout: 30_000 });
      await page.waitForLoadState("networkidle");
      const firstLoadKb = scriptBytes / 1024;
      const total = (AGENTS + 1).toLocaleString("en-US");
      const overviewMs = await timeToText(page, `${inspector.url}#/`, total);
      const listMs = await timeToText(page, `${inspector.url}#/agents/Counter`, "customer-000000");
      log(`first load ${firstLoadKb.toFixed(1)} KB of JavaScript; overview ${overviewMs.toFixed(0)} ms; agents list ${listMs.toFixed(0)} ms`);
      return [
        { bench: "16 inspector", metric: "first load: JavaScript fetched (uncompressed)", value: Number(firstLoadKb.toFixed(1)), unit: "KB", goal: { op: "<=", value: 200 } },
        { bench: "16 inspector", metric: `overview of ${total} agents on screen (navigation → numbers)`, value: Math.round(overviewMs), unit: "ms", goal: { op: "<=", value: 1_000 }, note: `median of ${ROUNDS} loads, headless Chromium` },
        { bench: "16 inspector", metric: `agents list of a ${total}-agent class, first page on screen`, value: Math.round(listMs), unit: "ms", note: `median of ${ROUNDS} loads` },
      ] satisfies Row[];
    } finally {
      await browser.close();
      await inspector.close();
      await host.close();
    }
  });
  emit(rows);
}
