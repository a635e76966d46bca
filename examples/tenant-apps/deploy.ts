/**
 * Deploys (or redeploys) one customer's app through the agent's `deploy(name, source)` RPC, over the
 * same WebSocket a page would use:
 *
 *   node examples/tenant-apps/deploy.ts <customer> <app> <file.js> [host:port]
 *
 * The app is then served at http://<host:port>/agents/tenant/<customer>/apps/<app>/.
 */
import { readFileSync } from "node:fs";
import { AgentClient } from "hearth/client";
import type { Tenant } from "./src/index.ts";

const [customer, app, file, host = "127.0.0.1:8787"] = process.argv.slice(2);
if (!customer || !app || !file) {
  console.error("usage: node examples/tenant-apps/deploy.ts <customer> <app> <file.js> [host:port]");
  process.exit(2);
}
const client = new AgentClient<Tenant>({ host, agent: "Tenant", name: customer });
try {
  const version = await client.stub.deploy(app, readFileSync(file, "utf8"));
  console.log(`${customer}/${app} version ${version}: http://${host}/agents/tenant/${customer}/apps/${app}/`);
} catch (error) {
  console.error(`deploy failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  client.close();
}
