import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Host, routeAgentRequest, serve } from "../../src/index.ts";
import type { AgentClass, HearthServer } from "../../src/index.ts";

/** Debian's chromium; `.ci/run` installs it when missing. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = fs.existsSync(CHROMIUM);
export const SKIP_REASON = `${CHROMIUM} not found; install the Debian package "chromium" to run the browser tests`;
if (!hasChromium) console.warn(`[browser test] skipped: ${SKIP_REASON}`);

/** A suite title that says why it was skipped, when it was. */
export function browserSuite(title: string): string {
  return `${title}${hasChromium ? "" : ` (skipped: ${SKIP_REASON})`}`;
}

/** Headless Chromium as the browser tests run it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 20_000,
  });
}

let shared: Promise<Browser> | undefined;

/**
 * One headless Chromium per test worker, shared by the browser test files that worker runs (the
 * config's `isolate: false` keeps this module, and so the browser, from one file to the next): a
 * launch costs ~1.5 s of CPU. Each file works in contexts of its own and gives them back with
 * {@link releaseChromium}; a browser that went away is launched again for the next file.
 */
export function sharedChromium(): Promise<Browser> {
  shared ??= launchChromium().then(
    (browser) => {
      browser.on("disconnected", () => (shared = undefined));
      return browser;
    },
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}

/** Closes every context of the shared browser (files run one at a time in a worker: they are the caller's). */
export async function releaseChromium(browser: Browser | undefined): Promise<void> {
  if (browser === undefined) return;
  await Promise.all(browser.contexts().map((context) => context.close()));
}

/** Runs every cleanup step in order; one that fails is logged and does not stop the rest. */
export async function cleanUpInOrder(steps: Array<() => unknown>): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      console.error("[browser test] cleanup step failed:", error);
    }
  }
}

/** A React fixture bundled for the browser (development build), as the pages of the browser tests load it. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "browser",
    format: "esm",
    jsx: "automatic",
    target: "es2022",
    define: { "process.env.NODE_ENV": JSON.stringify("development") },
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error("esbuild produced no output");
  return output.text;
}

/** What {@link BrowserApp.start} serves. */
export interface BrowserAppOptions {
  /** Prefix of the temporary directory (agent data, screenshots). */
  tmpPrefix: string;
  /** The React fixture, bundled and served as `/app.js`. */
  entry: string;
  /** The page served at `/`. */
  html: string;
  agents: Record<string, AgentClass>;
  /** Upper bound for every wait on a page. */
  timeout: number;
  /** The worker's own routes, tried before the agents' (undefined: not handled). */
  route?(request: Request, env: Record<string, unknown>): Promise<Response | undefined>;
}

/**
 * A Hearth server on loopback serving one bundled React page, and a Chromium
 * context to open it in. Errors of the pages are collected in `problems`.
 */
export class BrowserApp {
  readonly problems: string[] = [];
  tmp: string | undefined;
  host: Host | undefined;
  server: HearthServer | undefined;
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;

  async start(options: BrowserAppOptions): Promise<void> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix));
    this.tmp = tmp;
    const js = await bundleForBrowser(options.entry);
    const host = new Host({ dataDir: path.join(tmp, "data"), agents: options.agents });
    this.host = host;
    this.server = await serve({
      host,
      port: 0,
      fetch: async (request, env) =>
        (await options.route?.(request, env)) ??
        (await routeAgentRequest(request, env)) ??
        (new URL(request.url).pathname === "/"
          ? new Response(options.html, { headers: { "content-type": "text/html; charset=utf-8" } })
          : new Response(js, { headers: { "content-type": "text/javascript; charset=utf-8" } })),
    });
    this.#browser = await sharedChromium();
    this.#context = await this.#browser.newContext();
    this.#context.setDefaultTimeout(options.timeout);
  }

  /** A new tab on `/{search}`; its page errors and console errors go to `problems`. */
  async open(search = ""): Promise<Page> {
    if (this.#context === undefined || this.server === undefined) throw new Error("setup did not finish");
    const page = await this.#context.newPage();
    page.on("pageerror", (error) => this.problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") this.problems.push(`console.error: ${message.text()}`);
    });
    await page.goto(`${this.server.url}/${search}`);
    return page;
  }

  /** Closes what `start` got to, in reverse order. */
  close(): Promise<void> {
    return cleanUpInOrder([
      () => this.#context?.close(),
      () => releaseChromium(this.#browser),
      () => this.server?.close(),
      () => this.host?.close(),
      () => {
        if (this.tmp !== undefined) fs.rmSync(this.tmp, { recursive: true, force: true });
      },
    ]);
  }
}

/** Reads the text of the element with `data-testid="{id}"`, for `expect.poll`. */
export const testIdText = (page: Page, id: string) => (): Promise<string | null> => page.getByTestId(id).textContent();

/** Pages of one context are tabs of one window: a background tab's animation frames are throttled, and clicks wait for them. */
export async function clickTestId(page: Page, id: string): Promise<void> {
  await page.bringToFront();
  await page.getByTestId(id).click();
}
