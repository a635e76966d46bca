/**
 * An inbound webhook starts a team run, once per delivery: a signed GitHub-style delivery over real
 * HTTP starts one run (its id from the delivery id); the same delivery again starts nothing; a bad
 * signature is refused and starts nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { handleWebhook, signWebhook } from "../../src/integrations/index.ts";
import { fnMember, team } from "../../src/teams/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

const SECRET = "it's a secret to everybody";
const triaged: string[] = [];
const triage = team("w-triage", fnMember("label", (issue: { title: string }) => (triaged.push(issue.title), issue.title.includes("crash") ? "bug" : "question")));

class Repo extends Agent {
  async onRequest(request: Request): Promise<Response> {
    return handleWebhook<{ issue: { title: string } }>(this, request, {
      style: "github",
      secret: SECRET,
      onDelivery: async (payload, { deliveryId }) => {
        await triage.start(this, payload.issue, { runId: `gh-${deliveryId}` });
      },
    });
  }
  runs() {
    return triage.list(this).map((run) => ({ id: run.id, status: run.status, output: run.output ?? null }));
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  triaged.length = 0;
});

async function deliver(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-github-event": "issues", ...headers } });
}

describe("a webhook starts a team run", () => {
  it("once per delivery id; a bad signature starts nothing", async () => {
    harness = await startHarness({ Repo });
    const url = `${harness.url}/agents/repo/hearth`;
    const body = JSON.stringify({ action: "opened", issue: { title: "App crash on start" } });
    const headers = signWebhook(body, { style: "github", secret: SECRET, deliveryId: "d-1" });
    expect((await deliver(url, body, headers)).status).toBe(200);
    const again = await deliver(url, body, headers);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    const forged = await deliver(url, body, { ...headers, "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`, "X-GitHub-Delivery": "d-2" });
    expect(forged.status).toBe(401);

    const repo = await getAgentByName(harness.host.env.Repo as AgentNamespace<Repo>, "hearth");
    for (let i = 0; i < 200 && (await repo.runs()).some((run) => run.status !== "completed"); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await repo.runs()).toEqual([{ id: "gh-d-1", status: "completed", output: "bug" }]);
    expect(triaged).toEqual(["App crash on start"]);
  });
});
