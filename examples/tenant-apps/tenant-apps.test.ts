// Per-tenant code: each customer's apps run in their own sandboxes, with only their own data.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { Tenant } from "./src/index.ts";

const COUNTER = `
export default {
  async fetch(request, env) {
    const n = Number((await env.store.get("visits")) ?? 0) + 1;
    await env.store.put("visits", String(n));
    return new Response(JSON.stringify({ visits: n, path: new URL(request.url).pathname }), {
      headers: { "content-type": "application/json" },
    });
  },
};`;

let t: TestEnv;
beforeEach(async () => {
  t = await createTestEnv({ agents: { Tenant } });
});
afterEach(() => t.close());

it("serves each customer's app from its own SQL, with its own data", async () => {
  await t.get<Tenant>("Tenant", "acme").deploy("counter", COUNTER);
  await t.get<Tenant>("Tenant", "globex").deploy("counter", COUNTER);
  const hit = async (customer: string) => (await t.fetch(`/agents/tenant/${customer}/apps/counter/hello`)).json();
  expect(await hit("acme")).toEqual({ visits: 1, path: "/agents/tenant/acme/apps/counter/hello" });
  expect(await hit("acme")).toEqual({ visits: 2, path: "/agents/tenant/acme/apps/counter/hello" });
  expect(await hit("globex")).toEqual({ visits: 1, path: "/agents/tenant/globex/apps/counter/hello" });
});

it("picks up a redeploy at once", async () => {
  const acme = t.get<Tenant>("Tenant", "acme");
  await acme.deploy("hello", `export default { fetch: () => new Response("v1") }`);
  expect(await (await t.fetch("/agents/tenant/acme/apps/hello")).text()).toBe("v1");
  await acme.deploy("hello", `export default { fetch: () => new Response("v2") }`);
  expect(await (await t.fetch("/agents/tenant/acme/apps/hello")).text()).toBe("v2");
});

it("contains hostile apps: no network, no host, bounded CPU; the agent keeps serving", async () => {
  const acme = t.get<Tenant>("Tenant", "acme");
  await acme.deploy("spin", `export default { fetch() { for (;;) {} } }`);
  await acme.deploy("phone-home", `export default { async fetch() { return fetch("http://127.0.0.1:1/steal") } }`);
  await acme.deploy("escape", `export default { fetch() { return new Response(typeof process + " " + typeof require) } }`);
  const spin = await t.fetch("/agents/tenant/acme/apps/spin");
  expect(spin.status).toBe(500);
  expect(JSON.stringify(await spin.json())).toMatch(/cpuMs/);
  const phone = await t.fetch("/agents/tenant/acme/apps/phone-home");
  expect(phone.status).toBe(500);
  expect(await (await t.fetch("/agents/tenant/acme/apps/escape")).text()).toBe("undefined undefined");
  expect(await acme.apps()).toEqual([
    { name: "escape", version: 1 },
    { name: "phone-home", version: 1 },
    { name: "spin", version: 1 },
  ]);
  await expect(acme.deploy("../etc", "x")).rejects.toThrow(/App names/);
});

it("deploys from the command line as the README shows (deploy.ts, over the agent's WebSocket)", async () => {
  const host = new URL(await t.url()).host;
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [fileURLToPath(new URL("./deploy.ts", import.meta.url)), ...args, host]);
  const { stdout } = await run("acme", "counter", fileURLToPath(new URL("./apps/counter.js", import.meta.url)));
  expect(stdout).toBe(`acme/counter version 1: http://${host}/agents/tenant/acme/apps/counter/\n`);
  expect(await (await t.fetch("/agents/tenant/acme/apps/counter/hello")).json()).toEqual({ visits: 1, path: "/agents/tenant/acme/apps/counter/hello" });
  await expect(run("acme", "../etc", fileURLToPath(new URL("./apps/counter.js", import.meta.url)))).rejects.toMatchObject({
    code: 1,
    stderr: "deploy failed: App names are 1-40 of a-z, 0-9 and -, starting with a letter\n",
  });
});
