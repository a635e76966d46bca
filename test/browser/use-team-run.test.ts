/**
 * `useTeamRun` in a real browser (React, PartySocket, Chromium's WebSocket) against a Hearth server on
 * loopback: a page opened while a run waits for approval gets its history, then its live events once
 * the approval is given; a page opened after the run ended gets all of it; a bad run id shows the error.
 *
 * Needs Chromium at /usr/bin/chromium; without it the suite is skipped.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserApp, browserSuite, hasChromium, testIdText as text } from "../support/browser.ts";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { approval, fnMember, pipeline, team, teamRun } from "../../src/teams/index.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/team-app.tsx", import.meta.url));
const WAIT = 10_000;

const reply = team("b-reply", pipeline(fnMember("draft", (q: string) => `draft: ${q}`), approval("Send?"), fnMember("send", (d: string) => `sent ${d}`)));

class Desk extends Agent {
  async start(q: string): Promise<string> {
    return (await reply.start(this, q)).id;
  }
  status(id: string): string {
    return teamRun(this, id).record().status;
  }
  async approveAll(id: string): Promise<void> {
    const run = teamRun(this, id);
    for (const pending of run.approvals()) await run.approve(pending.path);
  }
}

const HTML = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>useTeamRun</title></head>
  <body><div id="root"></div><script type="module" src="/app.js"></script></body>
</html>`;

describe.skipIf(!hasChromium)(browserSuite("useTeamRun in headless Chromium"), () => {
  const app = new BrowserApp();
  const { problems } = app;

  beforeAll(() => app.start({ tmpPrefix: "hearth-browser-team-", entry: FIXTURE, html: HTML, agents: { Desk }, timeout: WAIT }));
  afterAll(() => app.close());

  async function desk() {
    return getAgentByName(app.host!.env.Desk as AgentNamespace<Desk>, "front");
  }

  test("history first, then live events, until the run completes", async () => {
    const d = await desk();
    const id = await d.start("hello");
    await expect.poll(() => d.status(id), { timeout: WAIT }).toBe("waiting");
    const page = await app.open(`?run=${id}`);
    await expect.poll(text(page, "status"), { timeout: WAIT }).toBe("waiting");
    expect(await text(page, "types")()).toContain("approval-requested");
    await d.approveAll(id);
    await expect.poll(text(page, "status"), { timeout: WAIT }).toBe("completed");
    const seqs = ((await text(page, "seqs")()) ?? "").split(",").map(Number);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // every event once, in order
    expect(problems).toEqual([]);
  });

  test("a page opened after the run ended gets all of it; a bad id shows the error", async () => {
    const d = await desk();
    const id = await d.start("again");
    await expect.poll(() => d.status(id), { timeout: WAIT }).toBe("waiting");
    await d.approveAll(id);
    await expect.poll(() => d.status(id), { timeout: WAIT }).toBe("completed");
    const page = await app.open(`?run=${id}`);
    await expect.poll(text(page, "status"), { timeout: WAIT }).toBe("completed");
    expect((await text(page, "types")())?.split(",")[0]).toBe("run-started");
    const bad = await app.open("?run=nope");
    await expect.poll(text(bad, "error"), { timeout: WAIT }).toBe("No team run nope on this agent");
    expect(problems).toEqual([]);
  });
});
