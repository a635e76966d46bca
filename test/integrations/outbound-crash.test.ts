/**
 * Outbound webhooks survive kill -9: a child process records webhooks (each acknowledged after its
 * commit) while the receiver hangs or fails; the child is killed with SIGKILL mid-delivery, restarted
 * on the same data directory, and at the end every acknowledged webhook has reached the receiver,
 * signed, and none is a dead letter.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/integrations/webhook-signature.ts";
import { killChildren, startChild, type Child } from "../support/child.ts";
import type { WebhookReport } from "./fixtures/webhook-child.ts";
import { startServer, type TestServer } from "./http-server.ts";

const CHILD = fileURLToPath(new URL("./fixtures/webhook-child.ts", import.meta.url));
const SECRET = "crash-secret";
const AGENTS = ["s0", "s1", "s2"];
const ROUNDS = 4;
const PER_ROUND = 12;
const DEADLINE_MS = 30_000;

const dataDir = mkdtempSync(join(tmpdir(), "hearth-webhook-crash-"));
let receiver: TestServer | undefined;

afterAll(async () => {
  killChildren();
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

describe("outbound webhooks across SIGKILL", () => {
  it(`deliver every acknowledged webhook after ${ROUNDS} kills mid-delivery`, { timeout: 120_000 }, async () => {
    let mode: "hang" | "fail" | "ok" = "hang";
    const delivered = new Map<string, number>();
    let requests = 0;
    let badSignatures = 0;
    receiver = await startServer(async (req, res) => {
      requests++;
      try {
        await verifyWebhook({ headers: req.headers as Record<string, string>, body: req.body }, { style: "hmac", secret: SECRET });
      } catch {
        badSignatures++;
      }
      if (mode === "hang") return; // never answered: the child dies with the request open
      if (mode === "fail") {
        res.statusCode = 503;
        res.end("down");
        return;
      }
      const id = String(req.headers["x-hearth-delivery"]);
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      res.end("ok");
    });

    const acked: Array<{ agent: string; id: string }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      mode = round % 2 === 1 ? "hang" : "fail";
      const child: Child = await startChild(CHILD, [dataDir]);
      const before = requests;
      for (let i = 0; i < PER_ROUND; i++) {
        const agent = AGENTS[i % AGENTS.length]!;
        const id = `r${round}-${i}`;
        const target = encodeURIComponent(`${receiver.url}/hook`);
        const response = await fetch(`${child.url}/agents/sender/${agent}/send?id=${id}&target=${target}`, { method: "POST" });
        expect(response.status, await response.text()).toBe(200);
        acked.push({ agent, id });
      }
      // Deliveries are under way (hanging, or failing and retried) when the process dies.
      const busy = await until(() => requests - before >= (mode === "hang" ? 1 : PER_ROUND), 10_000);
      expect(busy, `round ${round}: ${requests - before} delivery attempts reached the receiver; stderr:\n${child.stderr()}`).toBe(true);
      child.proc.kill("SIGKILL");
      expect((await child.exited).signal).toBe("SIGKILL");
    }

    mode = "ok";
    const final = await startChild(CHILD, [dataDir]);
    const all = await until(() => acked.every(({ id }) => delivered.has(id)), DEADLINE_MS);
    const missing = acked.filter(({ id }) => !delivered.has(id)).map(({ id }) => id);
    expect(all, `not delivered: ${missing.join(", ")}; stderr:\n${final.stderr()}`).toBe(true);

    for (const agent of AGENTS) {
      const ids = acked.filter((a) => a.agent === agent).map((a) => a.id);
      const response = await fetch(`${final.url}/agents/sender/${agent}/report`, { method: "POST", body: JSON.stringify(ids) });
      const report = (await response.json()) as WebhookReport;
      expect(report.dead).toEqual([]);
      // A 200 that reached the receiver just now may not be recorded yet: delivered or about to be.
      for (const id of ids) expect(["delivered", "pending"]).toContain(report.status[id]);
    }
    expect(badSignatures).toBe(0);
    const duplicates = [...delivered.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `[webhook crash] ${ROUNDS} SIGKILLs mid-delivery, ${acked.length} webhooks acknowledged, all delivered; ${requests} requests in all, ${duplicates} duplicate deliveries`,
    );
    final.proc.kill("SIGTERM");
    expect(await final.exited).toEqual({ code: 0, signal: null });
  });
});
