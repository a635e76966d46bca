/**
 * The inspector UI of one cluster node in headless Chromium: the agents of both nodes with a Node
 * column, the node on an agent's page (read from the node holding it), and the overview per node;
 * no serious or critical axe violations on those views. Needs Chromium and PostgreSQL.
 */
import fs from "node:fs";
import path from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterInspectorView, type ClusterInspectorView } from "../../../src/cluster/inspector-view.ts";
import { withInspectorRoute } from "../../../src/cluster/internal-routes.ts";
import { Agent, routeAgentRequest } from "../../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../../src/inspector/index.ts";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../../support/browser.ts";
import { postgresUnavailable, sharedPostgres } from "../../support/postgres.ts";
import { startTestNode, type TestNode } from "../../cluster/support/test-node.ts";
import { sharedUi } from "./build-ui.ts";
import { ARTIFACTS, WAIT } from "./harness.ts";

class Ledger extends Agent<unknown, { entries: number }> {
  override initialState = { entries: 0 };

  override onRequest(): Response {
    this.setState({ entries: this.state.entries + 1 });
    return new Response("ok");
  }
}

const VIEWER = "viewer-token-for-the-cluster-ui-test";
const ADMIN = "admin-token-for-the-cluster-ui-test";

async function startNode(connectionString: string, id: string, uiDir: string): Promise<{ running: TestNode; inspector: InspectorHandle }> {
  let view: ClusterInspectorView | undefined;
  const running = await startTestNode(connectionString, id, {
    host: { agents: { Ledger } },
    serve: (host, node) => {
      view = clusterInspectorView(node, host);
      const worker = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 }));
      return { fetch: withInspectorRoute(worker, { key: node.inspectorAccess.key, answer: (request) => view!.answer(request) }) };
    },
  });
  const inspector = await startInspector({ host: running.host, env: {}, uiDir, token: VIEWER, adminToken: ADMIN, version: "test" });
  view!.attach(inspector.joinCluster(view!));
  return { running, inspector };
}

async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).options({ resultTypes: ["violations"] }).setLegacyMode(true).analyze();
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
}

describe.skipIf(!hasChromium || postgresUnavailable() !== undefined)(browserSuite("the inspector UI of a cluster node"), { timeout: 90_000 }, () => {
  const nodes: Array<{ running: TestNode; inspector: InspectorHandle }> = [];
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const uiDir = await sharedUi();
    const connectionString = await (await sharedPostgres()).database("inspector_cluster_ui");
    for (const id of ["a", "b"]) nodes.push(await startNode(connectionString, id, uiDir));
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    expect(await (await fetch(`${a.running.url}/agents/ledger/kept-by-a`)).text()).toBe("ok");
    expect(await (await fetch(`${b.running.url}/agents/ledger/kept-by-b`)).text()).toBe("ok");
    browser = await sharedChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark" });
    context.setDefaultTimeout(WAIT);
    page = await context.newPage();
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(`${a.inspector.openUrl}&to=/agents/Ledger`);
    await page.getByTestId("role-badge").waitFor();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await cleanUpInOrder([
      () => releaseChromium(browser),
      ...nodes.map((node) => async () => {
        await node.inspector.close();
        await node.running.node.drain();
        await node.running.server.close();
        await node.running.host.close();
        await node.running.node.close();
      }),
    ]);
  }, 60_000);

  test("a class's instances show the node holding each, and an agent of the other node opens with its node", async () => {
    await page.getByRole("banner").getByText("cluster node a").waitFor();
    const table = page.getByRole("table", { name: "Instances of Ledger" });
    await table.getByRole("columnheader", { name: "Node" }).waitFor();
    await expect.poll(() => table.getByRole("row").filter({ hasText: "kept-by-b" }).textContent()).toContain("b");
    await expect.poll(() => table.getByRole("row").filter({ hasText: "kept-by-a" }).getByTitle("Held by cluster node a").count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, "cluster-agents.png"), fullPage: true, animations: "disabled" });
    await table.getByRole("link", { name: "kept-by-b" }).click();
    await page.getByTitle("Held by cluster node b").waitFor();
    await expect.poll(() => page.getByRole("group", { name: "Agent state" }).textContent()).toContain("entries: 1");
    expect(problems).toEqual([]);
  });

  test("the overview shows the cluster's agents and each node's numbers", async () => {
    await page.evaluate(() => {
      location.hash = "/";
    });
    const perNode = page.getByRole("table", { name: "Cluster nodes" });
    await perNode.waitFor();
    await expect.poll(() => perNode.getByRole("row").count()).toBe(3);
    await expect.poll(() => page.getByRole("table", { name: "Agents by class" }).getByRole("row").filter({ hasText: "Ledger" }).textContent()).toContain("2");
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, "cluster-overview.png"), fullPage: true, animations: "disabled" });
    expect(problems).toEqual([]);
  });
});
