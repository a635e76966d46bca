import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, cleanEnv, runCli, until } from "./helpers.ts";
import { inspectAppForFile, type InspectApp } from "./inspect-support.ts";

let app: InspectApp;
inspectAppForFile((started) => (app = started));

/** Runs `hearth inspect <args> | <reader>` in bash with pipefail: the status is the CLI's unless the reader fails. */
function piped(args: readonly string[], reader: string): { done: Promise<number | null>; stderr: () => string; exited: () => boolean } {
  const quoted = [process.execPath, CLI, "inspect", ...args, "--data", app.data].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  const shell = spawn("bash", ["-c", `set -o pipefail; ${quoted} | ${reader} > /dev/null`], { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let exited = false;
  shell.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<number | null>((resolve) =>
    shell.on("close", (code) => {
      exited = true;
      resolve(code);
    }),
  );
  return { done, stderr: () => stderr, exited: () => exited };
}

describe("hearth inspect into a pipe", { timeout: 120_000 }, () => {
  it("ends quietly with status 0 when the reader stops early (| head)", async () => {
    // A state of 4 MB: far more than a pipe holds, so the reader is gone before it is all written.
    await app.visit("/agents/kitchen/big/big");
    const run = piped(["state", "Kitchen/big"], "head -c 100");
    expect(await run.done).toBe(0);
    expect(run.stderr()).toBe("");
  });

  it("ends a followed stream at the next entry once the reader is gone", async () => {
    const run = piped(["logs", "--follow", "--class", "Kitchen"], "head -n 1");
    // Each visit logs three lines: the first ends `head`, a later one meets the closed pipe.
    await until(async () => {
      if (!run.exited()) await app.visit("/agents/kitchen/p1/log?marker=piped");
      return run.exited();
    }, "the pipeline to end");
    expect(await run.done).toBe(0);
    expect(run.stderr()).toBe("");
  });
});

describe("hearth inspect's messages", { timeout: 120_000 }, () => {
  it("never print the token: not from a --url that is not a URL, nor from a token that cannot be sent", async () => {
    const secret = "s3cret-viewer-token-0123456789";
    const badUrl = runCli(["inspect", "overview", "--url", `not a url#token=${secret}`]);
    const badHeader = runCli(["inspect", "overview", "--url", `http://127.0.0.1:1/#token=${secret}`, "--token", `${secret}\nx`]);
    const fromEnv = runCli(["inspect", "overview"], { env: cleanEnv({ HEARTH_INSPECTOR_URL: `127.0.0.1:1/#token=${encodeURIComponent(`${secret}+&`)}` }) });
    expect((await badUrl.exited()).code).toBe(2);
    expect(badUrl.stderr()).toContain('hearth inspect: --url is not a URL: "not a url#token=…"');
    expect((await badHeader.exited()).code).toBe(1);
    expect(badHeader.stderr()).toContain("hearth inspect: Cannot reach the inspector at http://127.0.0.1:1: ");
    expect((await fromEnv.exited()).code).toBe(2);
    expect(fromEnv.stderr()).toContain('hearth inspect: HEARTH_INSPECTOR_URL is not a URL: "127.0.0.1:1/#token=…"');
    for (const cli of [badUrl, badHeader, fromEnv]) {
      expect(cli.stderr()).not.toContain(secret);
      expect(cli.stderr()).not.toContain(encodeURIComponent(secret));
    }
  });
});
