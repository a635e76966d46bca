/**
 * `hearth start` stopping (SIGTERM) answers the requests in progress before it exits, on one thread or
 * several (test/shards/stop-moved-connection.test.ts: a connection moved between threads).
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, FIXTURES, runCli, tempDir } from "./helpers.ts";

afterEach(cleanup);

describe("a stop answers what is in progress", () => {
  for (const threads of ["1", "2"]) {
    it(`answers requests in progress before exiting (--threads ${threads})`, async () => {
      const cli = runCli(["start", join(FIXTURES, "slow-answers.ts"), "--port", "0", "--threads", threads, "--data", await tempDir()]);
      const url = await cli.ready();
      // Several names: with two threads, some of these agents live on the thread that did not take the request.
      const names = ["a", "b", "c", "d", "e", "f"];
      const answers = names.map((name) =>
        fetch(`${url}/agents/slow/${name}`).then(
          async (response) => `${response.status} ${await response.text()}`,
          (error: Error) => `failed: ${error.message}`,
        ),
      );
      for (const name of names) await cli.waitFor(new RegExp(`request started for ${name}\\b`));
      cli.proc.kill("SIGTERM");
      expect(await Promise.all(answers)).toEqual(names.map((name) => `200 answered ${name}`));
      expect((await cli.exited()).code).toBe(0);
    });
  }
});
