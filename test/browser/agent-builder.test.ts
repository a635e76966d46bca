/**
 * The agent-builder example in headless Chromium: a Hearth server on loopback serves the example's
 * pages with its `Builder` and `CustomerAgent` on the offline demo model. Customers create their own
 * agents in the page (instructions, tools written as JavaScript, a chat that remembers); each agent
 * is a sub-agent with its own database, and nothing of one customer reaches another's page or file.
 * The operator's page lists them with their storage, suspends one (its page is refused, the others
 * go on), resumes it and deletes another (its files are gone from disk).
 *
 * The example imports the built package ("hearth", i.e. dist/): `npm run build` first. Needs
 * Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`); without it the suite is
 * skipped. A screenshot of each page is written to test/browser/artifacts/.
 */
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestEnv, type TestEnv } from "hearth/testing";
import { browserSuite, cleanUpInOrder, hasChromium, releaseChromium, sharedChromium } from "../support/browser.ts";
import app, { Builder, CustomerAgent } from "../../examples/agent-builder/src/server.ts";
import { buildClientBundle, CLIENT_BUNDLE } from "../../examples/agent-builder/build-client.ts";

/** Upper bound for every wait on a page. */
const WAIT = 10_000;
/** Each test is a story of many steps, each bounded by WAIT; on a busy machine they add up. */
const STORY = 120_000;
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));

interface ToolSpec {
  name: string;
  description: string;
  code: string;
}

const SHOUT: ToolSpec = {
  name: "acme_shout",
  description: "Shouts the text back in capitals",
  code: 'export default async function (input) {\n  return input.toUpperCase() + "!";\n}',
};
const REVERSE: ToolSpec = {
  name: "globex_reverse",
  description: "Reverses the text",
  code: 'export default (input) => [...input].reverse().join("");',
};

describe.skipIf(!hasChromium)(
  browserSuite("the agent-builder example in headless Chromium"),
  () => {
    let t: TestEnv | undefined;
    let url = "";
    let browser: Browser | undefined;
    let context: BrowserContext | undefined;
    const problems: string[] = [];

    beforeAll(async () => {
      t = await createTestEnv({
        agents: { Builder, CustomerAgent },
        time: "system",
        fetch: app.fetch,
        // The offline demo model, whatever keys the machine has.
        vars: { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", OPENAI_BASE_URL: "", DEMO_WORD_DELAY_MS: "2" },
      });
      url = await t.url();
      browser = await sharedChromium();
      context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      context.setDefaultTimeout(WAIT);
    });

    afterAll(async () => {
      await cleanUpInOrder([() => context?.close(), () => releaseChromium(browser), () => t?.close()]);
    });

    async function open(search: string): Promise<Page> {
      const page = await context!.newPage();
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      page.on("console", (message) => {
        // Refusals the tests ask for (a bad name: 400, an unknown or deleted customer: 404, a suspended
        // one: 403) are logged by the browser itself, not by the page.
        if (message.type() === "error" && !/WebSocket connection to .* failed|status of 40[034]/.test(message.text())) {
          problems.push(`console.error: ${message.text()}`);
        }
      });
      page.on("dialog", (dialog) => void dialog.accept());
      await page.goto(`${url}/${search}`);
      return page;
    }

    const text = (page: Page, id: string) => () => page.getByTestId(id).textContent();
    const assistant = (page: Page) => page.locator('[data-testid="message"][data-role="assistant"]');

    /** Creates the customer on the start page and lands on its own page, connected. */
    async function createCustomer(name: string): Promise<Page> {
      const page = await open("");
      await page.getByTestId("customer-input").fill(name);
      await page.getByTestId("create").click();
      await page.waitForURL(`${url}/?customer=${name}`);
      await expect.poll(text(page, "connection"), { timeout: WAIT }).toBe("connected");
      return page;
    }

    async function setInstructions(page: Page, instructions: string): Promise<void> {
      await page.getByTestId("instructions").fill(instructions);
      await page.getByTestId("save-instructions").click();
      await expect.poll(text(page, "instructions-status"), { timeout: WAIT }).toBe("saved");
    }

    async function addTool(page: Page, tool: ToolSpec): Promise<void> {
      await page.getByTestId("tool-name").fill(tool.name);
      await page.getByTestId("tool-description").fill(tool.description);
      await page.getByTestId("tool-code").fill(tool.code);
      await page.getByTestId("save-tool").click();
      await expect.poll(() => page.locator(`[data-testid="tool"][data-name="${tool.name}"]`).count(), { timeout: WAIT }).toBe(1);
    }

    /** Sends a message and waits for the whole answer; returns the answer's text. */
    async function chat(page: Page, message: string): Promise<string> {
      const before = await assistant(page).count();
      await page.getByTestId("chat-input").fill(message);
      await page.getByTestId("send").click();
      await expect.poll(() => assistant(page).count(), { timeout: WAIT }).toBe(before + 1);
      await expect.poll(text(page, "status"), { timeout: WAIT }).toBe("ready");
      return (await assistant(page).last().textContent()) ?? "";
    }

    /** The SQLite files (with their -wal) of one customer's agent, wherever the host keeps them. */
    function customerFiles(name: string): string[] {
      return fs
        .readdirSync(t!.dataDir, { recursive: true })
        .map(String)
        .filter((file) => path.basename(file).startsWith(`customeragent-${name}-`))
        .map((file) => path.join(t!.dataDir, file));
    }

    /** Every text value in every table of a customer's database, and its raw bytes (free pages included). */
    function customerData(name: string): { values: string; bytes: string } {
      const files = customerFiles(name);
      const main = files.find((file) => file.endsWith(".sqlite"));
      if (main === undefined) throw new Error(`no database for ${name} in ${t!.dataDir}`);
      const bytes = files.map((file) => fs.readFileSync(file).toString("latin1")).join("\n");
      // The host holds an agent's file exclusively while it runs: put the agents to sleep first.
      t!.hibernate();
      const db = new DatabaseSync(main, { readOnly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
        const values = tables.flatMap(({ name: table }) =>
          (db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).all() as Array<Record<string, unknown>>).flatMap((row) =>
            Object.values(row).map((value) => (value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : String(value))),
          ),
        );
        return { values: values.join("\n"), bytes };
      } finally {
        db.close();
      }
    }

    /** Whether a WebSocket to `path` opens (and is closed again) or is refused. */
    function socketOutcome(path: string): Promise<"open" | "refused"> {
      return new Promise((resolve) => {
        const socket = new WebSocket(`${url.replace(/^http/, "ws")}${path}`);
        socket.onopen = () => {
          socket.close();
          resolve("open");
        };
        socket.onerror = () => resolve("refused");
      });
    }

    async function screenshot(page: Page, name: string): Promise<void> {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
    }

    test("the page's client bundle is built from the current hearth/client", async () => {
      expect(fs.readFileSync(CLIENT_BUNDLE, "utf8")).toBe(await buildClientBundle({ write: false }));
    });

    test("two customers build their own agents: instructions, tools as code, chats that remember, nothing shared", async () => {
      const acme = await createCustomer("acme");
      expect(await acme.getByTestId("model").textContent()).toBe("offline demo model (no API key set)");
      await setInstructions(acme, "Answer as ACME support. Code word ACME-7781.");
      await addTool(acme, SHOUT);
      const shouted = await chat(acme, 'Use acme_shout on "quiet words"');
      expect(shouted).toContain("The acme_shout tool says: QUIET WORDS!");
      expect(await acme.locator('[data-testid="tool-call"][data-tool="acme_shout"]').getAttribute("data-state")).toBe("output-available");

      const globex = await createCustomer("globex");
      await setInstructions(globex, "Answer as the Globex help desk. Code word GLOBEX-4410.");
      await addTool(globex, REVERSE);
      expect(await chat(globex, 'Use globex_reverse on "globex rules"')).toContain("The globex_reverse tool says: selur xebolg");
      // Globex's agent has no acme_shout: asking for it gets an echo, not a call.
      const asked = await chat(globex, 'Use acme_shout on "borrowed"');
      expect(asked).toContain('You said: "Use acme_shout on "borrowed"".');
      expect(asked).toContain("I can call globex_reverse");
      expect(await globex.locator('[data-testid="tool-call"][data-tool="acme_shout"]').count()).toBe(0);

      // The sandbox's answer from the page's Try button.
      const row = acme.locator('[data-testid="tool"][data-name="acme_shout"]');
      await row.getByTestId("try-input").fill("hey");
      await row.getByTestId("try").click();
      await expect.poll(() => row.getByTestId("try-output").textContent(), { timeout: WAIT }).toBe('→ "HEY!"');

      // After a reload each page shows its own agent again: instructions, tools, conversation.
      for (const page of [acme, globex]) await page.reload();
      await expect.poll(() => acme.getByTestId("message").count(), { timeout: WAIT }).toBe(2);
      await expect.poll(() => globex.getByTestId("message").count(), { timeout: WAIT }).toBe(4);
      await expect.poll(() => acme.getByTestId("instructions").inputValue(), { timeout: WAIT }).toBe("Answer as ACME support. Code word ACME-7781.");
      expect(await globex.getByTestId("instructions").inputValue()).toBe("Answer as the Globex help desk. Code word GLOBEX-4410.");
      expect(await acme.getByTestId("tool").evaluateAll((items) => items.map((item) => item.getAttribute("data-name")))).toEqual(["acme_shout"]);
      expect(await globex.getByTestId("tool").evaluateAll((items) => items.map((item) => item.getAttribute("data-name")))).toEqual(["globex_reverse"]);
      expect(await assistant(acme).last().textContent()).toContain("tool says: QUIET WORDS!");

      // The agent remembers: the next answer continues the same conversation (the short notice of a second answer).
      const thanks = await chat(acme, "Thanks");
      expect(thanks).toContain('(offline demo model) You said: "Thanks".');
      expect(thanks).not.toContain("set OPENAI_API_KEY");

      // Through the page: neither sees the other's words.
      const acmeText = (await acme.getByTestId("workspace").textContent()) ?? "";
      const globexText = (await globex.getByTestId("workspace").textContent()) ?? "";
      for (const word of ["GLOBEX-4410", "globex_reverse", "globex rules", "selur xebolg"]) expect(acmeText).not.toContain(word);
      for (const word of ["ACME-7781", "QUIET WORDS", "quiet words"]) expect(globexText).not.toContain(word);
      await screenshot(acme, "agent-builder-customer.png");

      // Through the files: each database holds its own customer's data and nothing of the other's.
      for (const page of [acme, globex]) await page.close();
      const acmeData = customerData("acme");
      const globexData = customerData("globex");
      for (const word of ["ACME-7781", SHOUT.description, "toUpperCase", "QUIET WORDS!"]) expect(acmeData.values).toContain(word);
      for (const word of ["GLOBEX-4410", "globex_reverse", REVERSE.description, "selur xebolg"]) expect(globexData.values).toContain(word);
      for (const word of ["GLOBEX-4410", "globex_reverse", REVERSE.description, "globex rules", "selur xebolg"]) {
        expect(acmeData.values).not.toContain(word);
        expect(acmeData.bytes).not.toContain(word);
      }
      // (Globex's own chat asked for acme_shout by name: the name is there, Acme's tool is not.)
      for (const word of ["ACME-7781", SHOUT.description, "toUpperCase", "quiet words", "QUIET WORDS"]) {
        expect(globexData.values).not.toContain(word);
        expect(globexData.bytes).not.toContain(word);
      }
      expect(problems).toEqual([]);
    }, STORY);

    test("bad input is refused with a message; a tool that loops fails its own call and the agent answers on", async () => {
      const start = await open("");
      await start.getByTestId("customer-input").fill("no spaces allowed");
      await start.getByTestId("create").click();
      await expect.poll(text(start, "start-error"), { timeout: WAIT }).toBe("Customer names are 1-32 of a-z, 0-9 and -, starting with a letter or digit");

      const stranger = await open("?customer=nobody");
      await expect.poll(text(stranger, "refused-message"), { timeout: WAIT }).toBe("There is no customer named nobody: create it on the start page first");
      expect(await stranger.getByTestId("workspace").isHidden()).toBe(true);

      // A customer's agent has no address of its own: only the one through the Builder's gate.
      const direct = await fetch(`${url}/agents/customer-agent/initech/profile`);
      expect(direct.status).toBe(404);
      expect(await direct.json()).toEqual({ error: "A customer's agent is reached through its builder: /agents/builder/main/sub/customer-agent/initech" });
      expect(await socketOutcome("/agents/customer-agent/initech")).toBe("refused");

      const page = await createCustomer("initech");
      await page.getByTestId("tool-name").fill("broken");
      await page.getByTestId("tool-description").fill("Does not parse");
      await page.getByTestId("tool-code").fill("export default (input => ");
      await page.getByTestId("save-tool").click();
      await expect.poll(text(page, "tool-error"), { timeout: WAIT }).toMatch(/^Tool broken does not load: SyntaxError/);
      await page.getByTestId("tool-name").fill("Bad Name");
      await page.getByTestId("tool-code").fill("export default () => 1");
      await page.getByTestId("save-tool").click();
      await expect.poll(text(page, "tool-error"), { timeout: WAIT }).toBe("Tool names are 1-32 of a-z, 0-9 and _, starting with a letter");
      expect(await page.getByTestId("tool").count()).toBe(0);

      await addTool(page, { name: "spin", description: "Thinks forever", code: "export default () => { for (;;) {} }" });
      const answer = await chat(page, 'Use spin on "anything"');
      expect(answer).toContain("The spin tool failed: SandboxLimitError: CPU budget of 50 ms exceeded (cpuMs)");
      expect(await page.locator('[data-testid="tool-call"][data-tool="spin"]').getAttribute("data-state")).toBe("output-error");
      expect(await chat(page, "Still there?")).toContain('You said: "Still there?"');

      await page.getByTestId("instructions").fill("x".repeat(4001));
      await page.getByTestId("save-instructions").click();
      await expect.poll(text(page, "instructions-status"), { timeout: WAIT }).toBe("Instructions are at most 4000 characters");
      await page.reload();
      await expect.poll(() => page.getByTestId("instructions").inputValue(), { timeout: WAIT }).toBe("You are a helpful assistant. Use the tools when they help.");
      expect(problems).toEqual([]);
    }, STORY);

    test("the operator lists customers with their storage, suspends one (refused, the other unaffected), resumes it and deletes another (gone from disk)", async () => {
      const hooli = await createCustomer("hooli");
      // A long message: hooli's database grows past a fresh one's.
      await chat(hooli, `Remember the number 31337. ${"Lorem ipsum dolor sit amet. ".repeat(1000)}`);
      const umbrella = await createCustomer("umbrella");
      await chat(umbrella, "Hello from umbrella");

      const operator = await open("operator");
      const row = (name: string) => operator.locator(`[data-testid="customer-row"][data-name="${name}"]`);
      await expect.poll(() => row("hooli").count(), { timeout: WAIT }).toBe(1);
      await expect.poll(() => row("umbrella").getByTestId("customer-status").textContent(), { timeout: WAIT }).toBe("active");
      const hooliBytes = Number(await row("hooli").getByTestId("customer-storage").getAttribute("data-bytes"));
      const umbrellaBytes = Number(await row("umbrella").getByTestId("customer-storage").getAttribute("data-bytes"));
      expect(umbrellaBytes).toBeGreaterThan(0);
      expect(hooliBytes).toBeGreaterThan(umbrellaBytes + 28_000);
      await screenshot(operator, "agent-builder-operator.png");

      // Suspend hooli: its open page is cut off and says why; a fresh load is refused too.
      await row("hooli").getByTestId("suspend").click();
      await expect.poll(() => row("hooli").getByTestId("customer-status").textContent(), { timeout: WAIT }).toBe("suspended");
      await expect.poll(text(hooli, "refused-message"), { timeout: WAIT }).toBe("Customer hooli is suspended by the operator");
      const again = await open("?customer=hooli");
      await expect.poll(text(again, "refused-message"), { timeout: WAIT }).toBe("Customer hooli is suspended by the operator");
      expect(await socketOutcome("/agents/builder/main/sub/customer-agent/hooli")).toBe("refused");
      // The size of a suspended agent is the one measured when it stopped (asking would start it).
      expect(Number(await row("hooli").getByTestId("customer-storage").getAttribute("data-bytes"))).toBe(hooliBytes);
      // The other customer is not affected.
      expect(await chat(umbrella, "Are you there?")).toContain('You said: "Are you there?"');

      // Resume: the data is still there.
      await row("hooli").getByTestId("resume").click();
      await expect.poll(() => row("hooli").getByTestId("customer-status").textContent(), { timeout: WAIT }).toBe("active");
      expect(await socketOutcome("/agents/builder/main/sub/customer-agent/hooli")).toBe("open");
      await again.reload();
      await expect.poll(text(again, "connection"), { timeout: WAIT }).toBe("connected");
      await expect.poll(() => again.getByTestId("message").count(), { timeout: WAIT }).toBe(2);
      expect(await again.getByTestId("transcript").textContent()).toContain("Remember the number 31337");

      // Delete umbrella: its files are gone, the list is updated, its open page says so.
      expect(customerFiles("umbrella").length).toBeGreaterThan(0);
      await row("umbrella").getByTestId("delete").click();
      await expect.poll(() => row("umbrella").count(), { timeout: WAIT }).toBe(0);
      expect(customerFiles("umbrella")).toEqual([]);
      await expect.poll(text(umbrella, "refused-message"), { timeout: WAIT }).toBe("There is no customer named umbrella: create it on the start page first");
      expect(await row("hooli").count()).toBe(1);
      expect(customerFiles("hooli").length).toBeGreaterThan(0);

      // A new customer of the same name starts empty.
      const fresh = await createCustomer("umbrella");
      await expect.poll(text(fresh, "status"), { timeout: WAIT }).toBe("ready");
      expect(await fresh.getByTestId("message").count()).toBe(0);
      expect(problems).toEqual([]);
    }, STORY);
  },
);
