import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";

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
